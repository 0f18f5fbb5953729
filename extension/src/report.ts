/** Preparing the server's HTML report of an executed notebook for display. */

/**
 * The report without scripts or inline event handlers. The sandbox would
 * block them anyway; removing them first keeps the browser console free of
 * a "blocked script" error per script, and is a second line of defence.
 */
export function stripScripts(html: string): string {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  for (const node of Array.from(doc.querySelectorAll('script'))) {
    node.remove();
  }
  for (const element of Array.from(doc.querySelectorAll('*'))) {
    for (const attribute of Array.from(element.attributes)) {
      const value = attribute.value.trim().toLowerCase();
      if (attribute.name.toLowerCase().startsWith('on') || value.startsWith('javascript:')) {
        element.removeAttribute(attribute.name);
      }
    }
  }
  return '<!DOCTYPE html>\n' + doc.documentElement.outerHTML;
}
