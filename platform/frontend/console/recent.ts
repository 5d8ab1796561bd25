/** The executions started from this tab, newest first (the API has no listing of executions; docs/console.md). */

export interface RecentExecution {
  executionId: string;
  app: string;
  workflow: string;
  startedAt: number;
}

const KEY = 'mfbench.console.executions';
const KEEP = 200;

export function recentExecutions(): RecentExecution[] {
  try {
    const list = JSON.parse(sessionStorage.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(list) ? (list as RecentExecution[]) : [];
  } catch {
    return [];
  }
}

export function rememberExecution(e: RecentExecution): void {
  sessionStorage.setItem(KEY, JSON.stringify([e, ...recentExecutions().filter((x) => x.executionId !== e.executionId)].slice(0, KEEP)));
}
