/**
 * The client files generated from the OpenAPI document, and how each is written. The command
 * (`scripts/generate-clients.ts`, `npm run clients:generate`) writes them; the clients-in-sync
 * test (`test/unit/clients-in-sync.test.ts`) computes them the same way and compares them with
 * the committed files.
 *
 * An emitter for another language adds itself to {@link CLIENT_EMITTERS}: it receives the same
 * {@link BotApi} and returns the file's final text.
 */
import path from 'node:path';
import * as prettier from 'prettier';
import { packageRoot } from '../../config/package-root.js';
import { botApi, type BotApi } from './bot-api.js';
import { emitPython, PYTHON_CLIENT_FILE } from './python-emitter.js';
import { emitTypeScript, TYPESCRIPT_CLIENT_FILE } from './typescript-emitter.js';

/** One generated file: where it goes (relative to the project root) and how its text is made. */
export interface ClientEmitter {
  file: string;
  emit(api: BotApi): string | Promise<string>;
}

/** Prettier over `text`, with the repository's settings for `file`. */
export async function formatted(file: string, text: string): Promise<string> {
  const absolute = path.join(packageRoot(), file);
  const options = (await prettier.resolveConfig(absolute)) ?? {};
  return prettier.format(text, { ...options, filepath: absolute });
}

/** Every generated client file. */
export const CLIENT_EMITTERS: readonly ClientEmitter[] = [
  { file: TYPESCRIPT_CLIENT_FILE, emit: (api) => formatted(TYPESCRIPT_CLIENT_FILE, emitTypeScript(api)) },
  // Python is not a language Prettier formats: the emitter lays its source out itself.
  { file: PYTHON_CLIENT_FILE, emit: emitPython },
];

/** The generated files' paths (relative to the project root) and texts, computed in memory. */
export async function generatedClientFiles(
  api: BotApi = botApi(),
): Promise<{ file: string; text: string }[]> {
  return Promise.all(CLIENT_EMITTERS.map(async (e) => ({ file: e.file, text: await e.emit(api) })));
}
