export { ROLES, type Role } from '../core/config';
export { ROLE_LABELS as ROLE_LABELS_TEXT, roleSummary as roleDetail } from '../core/roles';
