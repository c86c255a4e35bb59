import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { cliErrors } from './errors.js';

/** A terminal prompt (on stderr, so stdout stays clean) that does not echo what is typed. */
function askHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve, reject) => {
    let answered = false;
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
    muted = true;
    // Raw mode turns Ctrl-C into a readline event; without this listener the prompt would just pause.
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      process.stderr.write('\n');
      if (!answered) reject(cliErrors.cancelled());
    });
  });
}

async function readFirstLine(): Promise<string | undefined> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) return line;
  return undefined;
}

/**
 * Asks twice, hidden, on a terminal; otherwise reads one line from stdin, so a script can pipe it
 * (`printf '%s\n' "$PW" | npm run cli -- create-superuser ...`) without putting it on the command line.
 */
export async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const line = await readFirstLine();
    if (line === undefined) throw cliErrors.invalidInput('No password: pass --password, or write it to stdin');
    return line;
  }
  const first = await askHidden('Password: ');
  const second = await askHidden('Password (again): ');
  if (first !== second) throw cliErrors.invalidInput('The passwords do not match');
  return first;
}
