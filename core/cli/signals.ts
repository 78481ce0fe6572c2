/**
 * The signals that end a long-running command (watch, serve, demo) cleanly: Ctrl-C, kill, a
 * closed terminal and Ctrl-\. Each is caught, so the command detaches from its targets and ends
 * the commands it launched before it exits, instead of dying with a target half-handled (or, for
 * SIGQUIT, with a core dump).
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
