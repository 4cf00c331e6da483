/**
 * The development upstream's deterministic tool calls: whether a reply is a call of offered
 * function tools instead of text, and with which arguments. Pure: no I/O.
 *
 * The last user text asks for a call with `call <name>` (word boundaries, the name as offered,
 * case-sensitive; `call` in any case); the arguments are the first JSON object literal that
 * follows the name before the next such mention, else `{}`. `tool_choice` overrides: `none`
 * never calls, a named function always calls that function, `required` calls what the text
 * names or else the first offered tool.
 */

import { estimateTokens } from './reply.ts';

/** How the request lets the model use tools, once normalised from either API's shape. */
export type ToolChoice =
  | { mode: 'none' }
  | { mode: 'auto' }
  | { mode: 'required' }
  | { mode: 'function'; name: string };

export interface ToolCallPlan {
  name: string;
  /** Compact JSON text of an object. */
  arguments: string;
}

export interface ToolCallRequest {
  /** Names of the function tools the model may call, in the order offered. */
  tools: readonly string[];
  choice: ToolChoice;
  /** False keeps only the first call (`parallel_tool_calls: false`). */
  parallel: boolean;
  /** At most this many calls (`max_tool_calls`); null for no limit. */
  maxCalls: number | null;
  /** Text of the last user message. */
  text: string;
  /** True when the conversation's last item is a tool result. */
  afterToolResult: boolean;
}

/**
 * A JSON object is searched for in at most this many characters after a mention, starting at
 * no more than MAX_OBJECT_STARTS `{`s, so a pathological prompt cannot make the scan quadratic.
 */
const MAX_ARGUMENT_SCAN = 64 * 1024;
const MAX_OBJECT_STARTS = 32;

const EMPTY_ARGUMENTS = '{}';

/**
 * The tool calls the reply consists of, in order; empty for a text reply. With
 * `tool_choice: auto`, a conversation that ends with a tool result is answered with text, so
 * a tool round trip ends instead of calling the tool again.
 */
export function planToolCalls(req: ToolCallRequest): ToolCallPlan[] {
  const first = req.tools[0];
  if (req.choice.mode === 'none' || first === undefined) return [];
  let calls: ToolCallPlan[];
  switch (req.choice.mode) {
    case 'auto':
      calls = req.afterToolResult ? [] : findToolCalls(req.text, req.tools);
      break;
    case 'required': {
      const named = findToolCalls(req.text, req.tools);
      calls = named.length > 0 ? named : [{ name: first, arguments: EMPTY_ARGUMENTS }];
      break;
    }
    case 'function': {
      const name = req.choice.name;
      const named = findToolCalls(req.text, req.tools).filter((call) => call.name === name);
      calls = named.length > 0 ? named : [{ name, arguments: EMPTY_ARGUMENTS }];
      break;
    }
  }
  if (!req.parallel) calls = calls.slice(0, 1);
  if (req.maxCalls !== null) calls = calls.slice(0, req.maxCalls);
  return calls;
}

/** Output tokens of tool calls: their names and arguments, estimated like text. */
export function toolCallTokens(calls: readonly ToolCallPlan[]): number {
  let chars = 0;
  for (const call of calls) chars += call.name.length + call.arguments.length;
  return estimateTokens(chars);
}

/** Every `call <name>` in `text` naming one of `tools`, in order of appearance. */
export function findToolCalls(text: string, tools: readonly string[]): ToolCallPlan[] {
  if (tools.length === 0 || text === '') return [];
  const mentions = [...text.matchAll(mentionPattern(tools))];
  return mentions.map((match, i) => {
    const start = match.index + match[0].length;
    const end = Math.min(mentions[i + 1]?.index ?? text.length, start + MAX_ARGUMENT_SCAN);
    return { name: match[1] ?? '', arguments: firstJsonObject(text.slice(start, end)) ?? EMPTY_ARGUMENTS };
  });
}

function mentionPattern(tools: readonly string[]): RegExp {
  // Longest names first, so of `get` and `get_all` the longer one wins where both could match.
  const names = [...tools].sort((a, b) => b.length - a.length).map(escapeRegExp);
  return new RegExp(`(?<![A-Za-z0-9_-])[Cc][Aa][Ll][Ll]\\s+(${names.join('|')})(?![A-Za-z0-9_-])`, 'g');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** The first JSON object literal in `text`, re-serialised compactly; undefined when none. */
export function firstJsonObject(text: string): string | undefined {
  let open = text.indexOf('{');
  for (let tries = 0; open !== -1 && tries < MAX_OBJECT_STARTS; tries++) {
    const close = matchingBrace(text, open);
    if (close !== -1) {
      try {
        const value: unknown = JSON.parse(text.slice(open, close + 1));
        return JSON.stringify(value);
      } catch {
        // Balanced braces that are not JSON (`{like this}`): look further on.
      }
    }
    open = text.indexOf('{', open + 1);
  }
  return undefined;
}

/** Index of the `}` closing the `{` at `open` (braces inside JSON strings skipped), or -1. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b) {
      depth++;
    } else if (c === 0x7d && --depth === 0) {
      return i;
    }
  }
  return -1;
}
