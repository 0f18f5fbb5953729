// What jsdom lacks and the panel needs: Lumino's drag and drop reads
// DragEvent's prototype at import time, and the Runs tab scrolls the
// selected run's details into view. Imported first by tests that build widgets.
if (typeof globalThis.DragEvent === 'undefined') {
  (globalThis as any).DragEvent = class DragEvent extends MouseEvent {};
}
if (!Element.prototype.scrollIntoView) {
  Element.prototype.scrollIntoView = function scrollIntoView(): void {
    // no layout in jsdom: nothing to scroll
  };
}
