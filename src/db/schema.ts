export { users } from '../modules/users/users.table.js';
