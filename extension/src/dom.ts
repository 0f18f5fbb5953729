/**
 * A tiny DOM builder for the panel's views.
 *
 * Everything users name (models, runs, columns, schedules, reasons) reaches
 * the page through this module, and it only ever creates text nodes and sets
 * attributes: there is deliberately no way to pass markup. That is the whole
 * of the panel's defence against HTML injection, so keep it that way.
 */

/** A child: an element, or text (numbers are shown as text too); falsy ones are skipped. */
export type Child = Node | string | number | null | undefined | false;

/** Attributes (`class`, `title`, `data-*`, `aria-*`, …) and event handlers. */
export interface IProps {
  [attribute: string]:
    | string
    | number
    | boolean
    | null
    | undefined
    | ((event: Event) => void);
}

/**
 * Create an HTML element.
 *
 * Strings in `props` become attributes (`true` gives an empty attribute;
 * `false`, `null` and `undefined` none); functions under `on…` keys become
 * event listeners; children that are strings become text nodes.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: IProps | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  applyProps(node, props);
  append(node, ...children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Create an SVG element; same rules as `h`. */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  props: IProps | null = null,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  applyProps(node, props);
  append(node, ...children);
  return node;
}

/** Append children, turning text into text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(
      typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child))
        : child
    );
  }
}

/** Replace all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  while (parent.firstChild) {
    parent.removeChild(parent.firstChild);
  }
  append(parent, ...children);
}

/**
 * A selector that finds `el` again after its view is drawn anew: its tag and
 * `data-*` attributes, under the nearest enclosing element that names a model.
 * `null` when `el` carries no `data-*` attribute (nothing stable to find it by).
 */
export function focusSelector(el: Element): string | null {
  const own = (node: Element): string => {
    const parts = Array.from(node.attributes)
      .filter(a => a.name.startsWith('data-') && a.name !== 'data-severity')
      .map(a => `[${a.name}="${a.value.replace(/["\\]/g, '\\$&')}"]`);
    return parts.length ? node.tagName.toLowerCase() + parts.join('') : '';
  };
  const self = own(el);
  if (!self) {
    return null;
  }
  const scope = el.parentElement?.closest('[data-model-name]');
  return scope ? `${own(scope)} ${self}` : self;
}

function applyProps(node: Element, props: IProps | null): void {
  if (!props) {
    return;
  }
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') {
      if (!key.startsWith('on')) {
        throw new Error(`only on… props may be functions, not ${key}`);
      }
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) {
      node.setAttribute(key, '');
    } else if (value !== false && value !== null && value !== undefined) {
      node.setAttribute(key, String(value));
    }
  }
}
