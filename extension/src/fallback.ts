/**
 * mlops-nb's notebook widgets outlive their kernel.
 *
 * A saved notebook keeps each widget's output: the ipywidgets view (whose
 * model lives in the kernel) and the static HTML mlops-nb stored beside it.
 * JupyterLab prefers the view, so once the kernel or the server restarted it
 * showed "Error displaying widget: model not found" although the HTML was
 * there. mlops-nb marks its bundles with `VIEW_MIME`; this renderer, ranked
 * before ipywidgets', shows the stored HTML and swaps in the live view only
 * once ipywidgets has drawn it, so a missing model leaves the HTML in place.
 * Outputs without the mark, and frontends without this extension, are as
 * before.
 */
import type { IRenderMime } from '@jupyterlab/rendermime';
import { MimeModel, RenderedHTML } from '@jupyterlab/rendermime';
import { PromiseDelegate } from '@lumino/coreutils';
import { Panel, type Widget } from '@lumino/widgets';

/** The mark in mlops-nb's widget bundles (`mlops_nb.widgets.VIEW_MIME`). */
export const VIEW_MIME = 'application/vnd.mlops-nb.view+json';
/** ipywidgets' view of a widget model. */
export const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
/** Before ipywidgets' renderer (rank -10): lower ranks win. */
export const FALLBACK_RANK = -20;

/** What finds the renderers of the output area a renderer was put in. */
interface IHasRendermime {
  rendermime?: { mimeTypes: readonly string[]; createRenderer(mimeType: string): IRenderMime.IRenderer };
}

/** The mime registry of the output area holding `widget` (the notebook's, with ipywidgets in it). */
export function outputRendermime(widget: Widget): IHasRendermime['rendermime'] | null {
  for (let node: Widget | null = widget.parent; node; node = node.parent) {
    const registry = (node as unknown as IHasRendermime).rendermime;
    if (registry && Array.isArray(registry.mimeTypes)) {
      return registry;
    }
  }
  return null;
}

/** Shows the stored HTML, and the live widget in its place once it is drawn. */
export class FallbackRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(
    private readonly makeHtml: () => IRenderMime.IRenderer,
    private readonly findRegistry: (widget: Widget) => IHasRendermime['rendermime'] | null = outputRendermime
  ) {
    super();
    this.addClass('mlops-WidgetFallback');
  }

  /** Whether the live widget is on show (else the HTML is). */
  get live(): boolean {
    return this.liveView !== null && !this.liveView.isHidden;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const html = model.data['text/html'];
    if (!this.html) {
      this.html = this.makeHtml();
      this.addWidget(this.html);
    }
    await this.html.renderModel(
      new MimeModel({ data: { 'text/html': html ?? '' }, trusted: model.trusted })
    );
    const view = model.data[WIDGET_MIME] as { model_id?: string } | undefined;
    if (!model.trusted || !view?.model_id) {
      return; // untrusted or no live view: the HTML is all there is
    }
    if (this.liveView && this.modelId === view.model_id) {
      return; // the same widget model: its view keeps showing (the HTML was updated behind it)
    }
    await this.attached.promise;
    const registry = this.findRegistry(this);
    if (!registry || !registry.mimeTypes.includes(WIDGET_MIME)) {
      return; // no ipywidgets here
    }
    this.dropLive();
    const live = registry.createRenderer(WIDGET_MIME);
    live.hide();
    this.addWidget(live);
    this.liveView = live;
    this.modelId = view.model_id;
    // ipywidgets may draw later (once its manager has restored): swap then.
    this.observer = new MutationObserver(() => this.swapIfDrawn());
    this.observer.observe(live.node, { childList: true });
    await live.renderModel(
      new MimeModel({ data: { [WIDGET_MIME]: view as never }, trusted: model.trusted })
    );
    this.swapIfDrawn();
  }

  dispose(): void {
    this.observer?.disconnect();
    super.dispose();
  }

  protected onAfterAttach(): void {
    this.attached.resolve();
  }

  /** Show the live view once ipywidgets put a view into it; "model not found" is text only. */
  private swapIfDrawn(): void {
    const live = this.liveView;
    if (live && live.node.querySelector(':scope > .lm-Widget')) {
      this.html?.hide();
      live.show();
      this.observer?.disconnect();
    }
  }

  private dropLive(): void {
    this.observer?.disconnect();
    this.liveView?.dispose();
    this.liveView = null;
    this.html?.show();
  }

  private html: IRenderMime.IRenderer | null = null;
  private liveView: IRenderMime.IRenderer | null = null;
  private modelId: string | null = null;
  private observer: MutationObserver | null = null;
  private readonly attached = new PromiseDelegate<void>();
}

/** The factory to add to JupyterLab's mime registry at `FALLBACK_RANK`. */
export const fallbackFactory: IRenderMime.IRendererFactory = {
  safe: false,
  mimeTypes: [VIEW_MIME],
  defaultRank: FALLBACK_RANK,
  createRenderer: options =>
    new FallbackRenderer(() => new RenderedHTML({ ...options, mimeType: 'text/html' }))
};
