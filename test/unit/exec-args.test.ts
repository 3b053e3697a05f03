/**
 * `elevate exec`'s command line: durations, the split at `--`, the default justification, and
 * what it refuses before it asks Elevate anything.
 */
import { describe, expect, it } from 'vitest';
import { EXEC_EXIT, parseDuration, parseExecArgs, runExec } from '../../bin/cli/exec-command.js';

/** A stderr that keeps what is written to it. */
function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = {
    isTTY: false,
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['1h30m', 5400],
    ['2d', 172_800],
    ['600', 600],
  ])('when given %s, then %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '0', '0m', '1.5h', 'm15', '15 m', '-5m', '15min'])(
    'when given %j, then it is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});

describe('parseExecArgs', () => {
  it('when the options come before --, then everything after it is the command, its own options included', () => {
    const parsed = parseExecArgs([
      '--role',
      'db-write',
      '--for',
      '15m',
      '--ticket',
      'CHG-1',
      '--',
      'psql',
      '--role',
      'x',
      '-h',
    ]);
    expect(parsed.command).toEqual(['psql', '--role', 'x', '-h']);
    expect(parsed.request).toEqual({
      role: 'db-write',
      durationSeconds: 900,
      ticket: 'CHG-1',
      justification: 'elevate exec: psql --role x -h',
    });
    expect(parsed.waitTimeoutMs).toBe(15 * 60_000);
  });

  it('when the command line holds control characters, then the default justification has none', () => {
    const parsed = parseExecArgs(['--role', 'r', '--for', '1m', '--', 'sh', '-c', 'a\nb\u001b[0m']);
    expect(parsed.request.justification).toBe('elevate exec: sh -c a b [0m');
  });

  it.each([
    [['--role', 'r', '--for', '1m'], /after --/],
    [['--role', 'r', '--for', '1m', '--'], /no command/],
    [['--for', '1m', '--', 'true'], /--role/],
    [['--role', 'r', '--', 'true'], /--for/],
    [['--role', 'r', '--for', 'soon', '--', 'true'], /not a duration/],
    [['--role', 'r', '--for', '1m', '--wait-timeout', 'x', '--', 'true'], /wait-timeout/],
    [['--role', 'r', '--for', '1m', '--bogus', '--', 'true'], /bogus/],
  ])('when given %j, then a usage error', (args, message) => {
    expect(() => parseExecArgs(args)).toThrow(message);
  });
});

describe('runExec before any request', () => {
  it('when -h belongs to the command, then it is not taken as exec --help (no token: exit 3)', async () => {
    const err = capture();
    const code = await runExec(['--role', 'r', '--for', '1m', '--', 'ls', '-h'], {}, err.stream);
    expect(code).toBe(EXEC_EXIT.config);
    expect(err.text()).toContain('ELEVATE_TOKEN');
  });

  it('when the command line is wrong, then exit 2 with the usage', async () => {
    const err = capture();
    expect(await runExec(['--role', 'r', '--', 'true'], { ELEVATE_TOKEN: 'x' }, err.stream)).toBe(
      EXEC_EXIT.usage,
    );
    expect(err.text()).toContain('usage: elevate exec');
  });

  it('when ELEVATE_URL is not a URL, then exit 3', async () => {
    const err = capture();
    const env = { ELEVATE_TOKEN: 'elv_bot_x', ELEVATE_URL: 'elevate.example.org' };
    expect(await runExec(['--role', 'r', '--for', '1m', '--', 'true'], env, err.stream)).toBe(
      EXEC_EXIT.config,
    );
    expect(err.text()).toContain('not a URL');
  });
});
