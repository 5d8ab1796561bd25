/**
 * #/new: write an app in the browser (functions in a code editor or uploaded as a folder, one ASL workflow with its
 * graph and the deploy-time validator's problems as you type) and deploy it, all or nothing.
 */
import type { AppManifest, FunctionManifest } from '../../../manifest.js';
import type { WorkflowProblem } from '../../../api.js';
import { isMfError } from '../../../errors.js';
import { codeEditor, type CodeEditor } from '../editor.js';
import { field, h } from '../dom.js';
import { layoutGraph, stateGraph } from '../graph.js';
import { graphView } from '../graph-view.js';
import { badInput, errorBox, type Page, type PageContext } from './page.js';
import { base64, filesFromFolder, filesFromZip } from '../uploads.js';

const SAMPLE_CODE = `// A Lambda-style handler: the event in, the result out. console.log lines go to the app's logs.
export const handler = async (event) => {
  console.log('step', JSON.stringify(event));
  if (event.fail) throw new Error('asked to fail');
  return { ...event, steps: (event.steps ?? 0) + 1 };
};
`;

const sampleWorkflow = (fn: string): string => JSON.stringify({
  Comment: 'Three steps of one function',
  StartAt: 'First',
  States: {
    First: { Type: 'Task', Resource: fn, Next: 'Second' },
    Second: { Type: 'Task', Resource: fn, Next: 'Third' },
    Third: { Type: 'Task', Resource: fn, End: true },
  },
}, null, 2);

interface FunctionDraft {
  name: HTMLInputElement;
  handler: HTMLInputElement;
  file: HTMLInputElement;
  memory: HTMLInputElement;
  timeout: HTMLInputElement;
  editor: CodeEditor;
  /** Files of an uploaded folder, which replace the editor's code when present. */
  uploaded: Record<string, string> | null;
  element: HTMLElement;
}

export const newAppPage: Page = async (ctx, root) => {
  const drafts: FunctionDraft[] = [];
  const appName = h('input', { type: 'text', required: true, autocomplete: 'off', placeholder: 'my-app' });
  const fnList = h('div', { class: 'fn-list' });
  const addFunction = (name: string): void => {
    const draft = functionDraft(name, () => {
      drafts.splice(drafts.indexOf(draft), 1);
      draft.element.remove();
      workflow.revalidate();
    }, () => workflow.revalidate());
    drafts.push(draft);
    fnList.append(draft.element);
  };
  const workflow = workflowEditor(ctx, () => drafts.map((d) => d.name.value.trim()));
  const message = h('div', { 'aria-live': 'polite' });
  const deploy = async (): Promise<void> => {
    message.replaceChildren();
    const name = appName.value.trim();
    if (name === '') return void message.replaceChildren(badInput('Give the app a name.'));
    const definition = workflow.definition();
    if (!definition.ok) return void message.replaceChildren(badInput(definition.message));
    const manifest: AppManifest = { name, functions: drafts.map(functionManifest), workflows: definition.value === null ? {} : { [workflow.name()]: definition.value } };
    try {
      await ctx.client.deploy(manifest);
      ctx.go(`#/apps/${encodeURIComponent(name)}`);
    } catch (err) {
      // Deploy is all or nothing: nothing of a refused app stays, and the draft stays here to be fixed.
      message.replaceChildren(errorBox(err));
      if (isMfError(err) && Array.isArray(err.details.problems)) workflow.show(err.details.problems as WorkflowProblem[]);
    }
  };
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Create an app')),
    h('form', { class: 'card', onsubmit: (e: Event) => { e.preventDefault(); void deploy(); } },
      field('App name', appName, 'lower-case letters, digits and dashes'),
      h('h2', {}, 'Functions'),
      fnList,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => addFunction(`fn${drafts.length + 1}`) }, 'Add a function')),
      h('h2', {}, 'Workflow'),
      workflow.element,
      h('div', { class: 'actions deploy' }, h('button', { type: 'submit', class: 'primary' }, 'Deploy')),
      message,
    ),
  );
  addFunction('hello');
  workflow.revalidate();
};

function functionDraft(name: string, onRemove: () => void, onRename: () => void): FunctionDraft {
  const nameInput = h('input', { type: 'text', value: name, required: true, autocomplete: 'off' });
  nameInput.addEventListener('input', onRename);
  const handler = h('input', { type: 'text', value: 'index.handler', required: true });
  const file = h('input', { type: 'text', value: 'index.mjs', required: true });
  const memory = h('input', { type: 'number', value: 128, min: 64, max: 4096, step: 64, required: true });
  const timeout = h('input', { type: 'number', value: 30, min: 1, max: 900, required: true });
  const editor = codeEditor({ language: 'javascript', text: SAMPLE_CODE, label: `Code of function ${name}` });
  const folder = h('input', { type: 'file', multiple: true, webkitdirectory: true });
  const zip = h('input', { type: 'file', accept: '.zip,application/zip' });
  const uploadNote = h('div', { 'aria-live': 'polite' });
  const draft: FunctionDraft = { name: nameInput, handler, file, memory, timeout, editor, uploaded: null, element: h('div') };
  const upload = async (read: () => Promise<Record<string, string>>): Promise<void> => {
    try {
      const files = await read();
      const count = Object.keys(files).length;
      draft.uploaded = count > 0 ? files : null;
      uploadNote.replaceChildren(count > 0 ? h('p', { class: 'notice' }, `${count} uploaded file(s) will be deployed instead of the code above: ${Object.keys(files).slice(0, 5).join(', ')}${count > 5 ? ', …' : ''}`) : '');
    } catch (err) {
      draft.uploaded = null;
      uploadNote.replaceChildren(badInput(`The upload was not used: ${err instanceof Error ? err.message : String(err)}.`));
    }
  };
  folder.addEventListener('change', () => void upload(() => filesFromFolder(folder.files)));
  zip.addEventListener('change', () => void upload(async () => {
    const picked = zip.files?.[0];
    return picked ? filesFromZip(new Uint8Array(await picked.arrayBuffer())) : {};
  }));
  draft.element = h('fieldset', { class: 'fn' },
    h('legend', {}, 'Function'),
    h('div', { class: 'row' }, field('Name', nameInput), field('Handler', handler), field('File', file), field('Memory (MB)', memory), field('Timeout (s)', timeout)),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Code'), editor.view.dom),
    h('div', { class: 'row' }, field('Or upload a folder', folder), field('or a zip', zip), h('button', { type: 'button', class: 'danger', onclick: onRemove }, 'Remove function')),
    uploadNote,
  );
  return draft;
}

function functionManifest(d: FunctionDraft): FunctionManifest {
  return {
    name: d.name.value.trim(),
    handler: d.handler.value.trim(),
    memoryMB: Number(d.memory.value),
    timeoutSeconds: Number(d.timeout.value),
    code: { files: d.uploaded ?? { [d.file.value.trim()]: base64(new TextEncoder().encode(d.editor.text())) } },
  };
}

interface WorkflowEditor {
  element: HTMLElement;
  name(): string;
  /** The definition, null when the editor is empty (an app without a workflow), or why it cannot be read. */
  definition(): { ok: true; value: unknown } | { ok: false; message: string };
  revalidate(): void;
  show(problems: WorkflowProblem[]): void;
}

function workflowEditor(ctx: PageContext, functionNames: () => string[]): WorkflowEditor {
  const name = h('input', { type: 'text', value: 'main', required: true });
  const graph = h('div', { class: 'graph-box' });
  const problemsBox = h('div', { 'aria-live': 'polite', class: 'problems' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;
  const definition = (): ReturnType<WorkflowEditor['definition']> => {
    const text = editor.text().trim();
    if (text === '') return { ok: true, value: null };
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (err) {
      return { ok: false, message: `The workflow is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
  const draw = (value: unknown, problems: WorkflowProblem[]): void => {
    const byState = new Map<string, string[]>();
    for (const p of problems) if (p.state !== null) byState.set(p.state, [...(byState.get(p.state) ?? []), p.message]);
    graph.replaceChildren(graphView(layoutGraph(stateGraph(value)), { problems: byState }, 'Workflow graph'));
  };
  const show = (problems: WorkflowProblem[]): void => {
    const parsed = definition();
    if (parsed.ok) draw(parsed.value, problems);
    problemsBox.replaceChildren(problems.length === 0
      ? h('p', { class: 'ok' }, '✔ The definition validates.')
      : h('ul', { class: 'problem-list', 'aria-label': 'Validation problems' }, ...problems.map((p) =>
        h('li', { 'data-state': p.state ?? '' }, h('strong', {}, p.state === null ? 'Definition' : `State ${p.state}`), `: ${p.message} `, h('code', {}, p.path)))));
  };
  const validate = async (): Promise<void> => {
    const parsed = definition();
    if (!parsed.ok) return void problemsBox.replaceChildren(h('p', { class: 'alert', role: 'alert' }, parsed.message));
    if (parsed.value === null) {
      graph.replaceChildren();
      return void problemsBox.replaceChildren(h('p', { class: 'muted' }, 'No workflow: the app will have functions only.'));
    }
    draw(parsed.value, []);
    const mine = ++asked;
    try {
      const check = await ctx.client.validateWorkflow(parsed.value, functionNames());
      if (mine === asked) show(check.problems);
    } catch (err) {
      if (mine === asked) problemsBox.replaceChildren(errorBox(err));
    }
  };
  const revalidate = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void validate(), 300);
  };
  const editor = codeEditor({ language: 'json', text: sampleWorkflow('hello'), label: 'Workflow definition (ASL JSON)', onChange: revalidate });
  const importer = h('input', { type: 'file', accept: '.json,application/json' });
  importer.addEventListener('change', () => {
    const file = importer.files?.[0];
    if (!file) return;
    void file.text().then((text) => {
      // A Step Functions export is either the definition itself or DescribeStateMachine's answer around it.
      let body = text;
      try {
        const outer = JSON.parse(text) as { definition?: unknown; name?: unknown };
        if (typeof outer.definition === 'string') body = outer.definition;
        if (typeof outer.name === 'string') name.value = outer.name;
        body = JSON.stringify(JSON.parse(body), null, 2);
      } catch {
        // Left as it is: the editor shows why it does not parse.
      }
      editor.setText(body);
    });
  });
  return {
    element: h('div', { class: 'workflow-editor' },
      h('div', { class: 'row' }, field('Workflow name', name), field('Import a Step Functions definition', importer)),
      h('div', { class: 'split' },
        h('div', { class: 'field' }, h('span', { class: 'label' }, 'Definition (ASL JSON)'), editor.view.dom, problemsBox),
        graph)),
    name: () => name.value.trim(),
    definition,
    revalidate,
    show,
  };
}
