/** axe-core on a rendered component, as the page tests run it. */

import axe from "axe-core";

/** The serious and critical violations under `root`, as "rule: the elements at fault".
 * Colour contrast is left to the browser test (happy-dom computes no colours); `rules`
 * switches others off (e.g. `region` for a component rendered outside the page's
 * landmarks). */
export async function seriousViolations(root: Element, rules: Record<string, { enabled: boolean }> = {}): Promise<string[]> {
  const result = await axe.run(root, { rules: { "color-contrast": { enabled: false }, ...rules } });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(" | ")}`);
}
