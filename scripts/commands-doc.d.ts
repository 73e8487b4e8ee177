/** docs/commands.md's path. */
export const FILE: string;
/** The whole of docs/commands.md, as the built CLI (dist/) defines it. */
export function commandsDoc(): Promise<string>;
