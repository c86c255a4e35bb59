import type { IssuedToken, TokenIssuer } from '../../plugins/auth.js';
import type { PasswordHasher } from '../../shared/password-hasher.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { NewUser, UsersService } from '../users/users.service.js';
import type { UserRow } from '../users/users.table.js';
import { authErrors } from './auth.errors.js';

export function createAuthService(deps: {
  usersRepository: UsersRepository;
  usersService: UsersService;
  passwordHasher: PasswordHasher;
  tokens: TokenIssuer;
}) {
  const { usersRepository, usersService, passwordHasher, tokens } = deps;

  /**
   * The same answer, in about the same time, for an unknown account and a wrong password, so the
   * response does not tell which accounts exist. Only a correct password learns that an account is inactive.
   */
  async function checkCredentials(login: string, password: string): Promise<UserRow> {
    const user = await usersRepository.findByLogin(login);
    if (!user) {
      await passwordHasher.verifyDummy(password);
      throw authErrors.invalidCredentials();
    }
    if (!(await passwordHasher.verify(user.hashedPassword, password))) throw authErrors.invalidCredentials();
    if (!user.isActive) throw authErrors.inactiveUser();
    if (passwordHasher.needsRehash(user.hashedPassword)) {
      // FastAPI-era bcrypt (or older argon2 parameters) is replaced while the plain password is at hand.
      await usersRepository.replacePasswordHash(user.id, await passwordHasher.hash(password));
    }
    return user;
  }

  return {
    register: (input: NewUser) => usersService.create({ ...input, is_superuser: false }),

    async login(login: string, password: string): Promise<IssuedToken> {
      const user = await checkCredentials(login, password);
      return tokens.issue(user.id);
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
