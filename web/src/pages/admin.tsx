/** The operators' and admins' pages (#/admin/...): one module each under admin/. */

export { Users } from "./admin/users";
export { KillSwitches } from "./admin/killswitches";
export { Operations } from "./admin/operations";
export { DeadLetters } from "./admin/deadletters";
export { AuditLog } from "./admin/audit";
