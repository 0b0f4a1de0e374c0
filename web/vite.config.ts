import preact from "@preact/preset-vite";
import { defineConfig } from "vitest/config";

// The build goes into the Python package, which the gateway serves at `/`
// (tradewind/gateway/webapp.py). No inline script or style: the gateway's
// Content-Security-Policy allows only same-origin files.
export default defineConfig({
  plugins: [preact()],
  base: "/",
  build: {
    outDir: "../tradewind/gateway/webapp_dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 300,
  },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
  },
});
