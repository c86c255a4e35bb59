import type { PasswordHasher } from '../../shared/password-hasher.js';
import { usersErrors } from './users.errors.js';
import type { ListUsersQuery, UserPatch, UsersRepository } from './users.repository.js';
import type { UserUpdate, UserUpdateMe } from './users.schemas.js';
import type { UserRow } from './users.table.js';

export interface NewUser {
  email: string;
  username: string;
  password: string;
  first_name?: string | null | undefined;
  last_name?: string | null | undefined;
  is_superuser?: boolean;
}

/** Copies the fields present in a partial update into the repository's column names. */
function toPatch(input: Omit<UserUpdate, 'password'>): UserPatch {
  const patch: UserPatch = {};
  if (input.email !== undefined) patch.email = input.email.trim().toLowerCase();
  if (input.username !== undefined) patch.username = input.username;
  if (input.first_name !== undefined) patch.firstName = input.first_name;
  if (input.last_name !== undefined) patch.lastName = input.last_name;
  if (input.is_active !== undefined) patch.isActive = input.is_active;
  if (input.is_superuser !== undefined) patch.isSuperuser = input.is_superuser;
  return patch;
}

export function createUsersService(deps: { usersRepository: UsersRepository; passwordHasher: PasswordHasher }) {
  const { usersRepository, passwordHasher } = deps;

  async function applyUpdate(id: number, input: UserUpdate): Promise<UserRow> {
    const { password, ...rest } = input;
    const patch = toPatch(rest);
    if (password !== undefined) patch.hashedPassword = await passwordHasher.hash(password);
    const row = await usersRepository.update(id, patch);
    if (!row) throw usersErrors.notFound();
    return row;
  }

  return {
    /** Registration and the CLI both create users here; duplicates surface as 409 from the repository. */
    async create(input: NewUser): Promise<UserRow> {
      return usersRepository.create({
        email: input.email.trim().toLowerCase(),
        username: input.username,
        hashedPassword: await passwordHasher.hash(input.password),
        firstName: input.first_name ?? null,
        lastName: input.last_name ?? null,
        isActive: true,
        isSuperuser: input.is_superuser ?? false,
      });
    },

    getById: (id: number) => usersRepository.getByIdOrThrow(id),

    list: (query: ListUsersQuery) => usersRepository.list(query),

    listSuperusers: () => usersRepository.listSuperusers(),

    async updateMe(current: UserRow, input: UserUpdateMe): Promise<UserRow> {
      const { current_password: currentPassword, ...changes } = input;
      if (changes.password !== undefined) {
        if (currentPassword === undefined) throw usersErrors.currentPasswordRequired();
        if (!(await passwordHasher.verify(current.hashedPassword, currentPassword))) {
          throw usersErrors.currentPasswordIncorrect();
        }
      }
      return applyUpdate(current.id, changes);
    },

    async update(actor: UserRow, id: number, input: UserUpdate): Promise<UserRow> {
      if (actor.id === id) {
        // A superuser locking themselves out could leave the service with no administrator at all.
        if (input.is_superuser === false) throw usersErrors.cannotDemoteSelf();
        if (input.is_active === false) throw usersErrors.cannotDeactivateSelf();
      }
      return applyUpdate(id, input);
    },

    async delete(actor: UserRow, id: number): Promise<void> {
      if (actor.id === id) throw usersErrors.cannotDeleteSelf();
      if (!(await usersRepository.delete(id))) throw usersErrors.notFound();
    },

    /** CLI `promote`: makes an existing account a superuser. */
    async promote(by: { email?: string | undefined; username?: string | undefined }): Promise<UserRow> {
      const login = by.email ?? by.username ?? '';
      const user = await usersRepository.findByLogin(login);
      if (!user) throw usersErrors.notFound();
      return applyUpdate(user.id, { is_superuser: true });
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
