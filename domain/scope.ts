/** Which elevations a caller may see: a bot only its own, an admin all. */
export type Scope = { kind: 'bot'; botId: string } | { kind: 'admin' };
