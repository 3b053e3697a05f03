/** A configuration problem that stops start-up. `field` names what is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}
