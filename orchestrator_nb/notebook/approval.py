"""Approvals in the notebook: a card with Approve / Request changes / Reject, an editor for
approving with edits and the gate's form when it asks for input (a tool call's card: Approve /
Edit arguments / Reject), and the approver that shows it.

``NotebookApprover.decide`` (the core's Approver protocol) follows an explicit policy
(auto/reject/defer/fail) as is. For ``ask`` it shows a card only when a frontend really
displays widgets (see ``frontend``); headless it falls back to ``ORC_APPROVAL`` or ``defer``,
so nothing waits for a click that cannot come. While a card waits, a decision made elsewhere
(``orc approve`` in a shell, ``%orc approve``, the JupyterLab panel) releases it too: those
touch ``<db>.inbox/<run_id>``, which is checked with a cheap ``stat`` before reading the store.
"""
from __future__ import annotations

import asyncio
import getpass
import html
import json
import os
import time

from ..core.approvals import Decision, PolicyApprover
from ..report.markup import shown_html
from .gateform import FieldError, GateForm

_e = html.escape
WORDS = {"approved": ("✔", "approved", "#1e8e3e"), "rejected": ("✘", "rejected", "#d93025"),
         "changes_requested": ("↺", "changes requested", "#e37400")}
MODE_WORDS = {"cli": "from the command line", "ui": "in the JupyterLab panel", "auto": "by policy",
              "interactive": ""}


def who() -> str:
    for key in ("JUPYTERHUB_USER", "USER", "USERNAME"):
        if os.environ.get(key):
            return os.environ[key]
    try:
        return getpass.getuser()
    except Exception:
        return "notebook"


def _structured(text: str) -> bool:
    """Whether the output under review was data (shown as a JSON object or list)."""
    if text.lstrip()[:1] not in ("{", "["):
        return False
    try:
        return isinstance(json.loads(text), (dict, list))
    except ValueError:
        return False


class ApprovalCard:
    """One approval round. ``future`` resolves with the clicked ``Decision``."""

    def __init__(self, req):
        import ipywidgets as w

        self.req = req
        self.future: asyncio.Future = asyncio.get_running_loop().create_future()
        title = (f"<div style='font-size:13px'>‖ <b>{_e(req.step_id)}</b>"
                 + (f" <span style='opacity:.6'>round {req.round}</span>" if req.round > 1 else "")
                 + f" — {_e(req.question or 'approve?')}</div>")
        self.title = w.HTML(title)
        self.shown = w.HTML(f"<div class='orc-shown' style='max-height:24em;overflow:auto;border:1px solid "
                            f"var(--jp-border-color2,#ddd);padding:4px 10px;margin:4px 0;background:"
                            f"var(--jp-layout-color0,#fff)'>{shown_html(req.show)}</div>")
        self.comment = w.Textarea(placeholder="Comment (needed to request changes: say what to change)",
                                  layout=w.Layout(width="98%", height="4.2em"))
        auto = w.Layout(width="auto", min_width="8em")
        self.approve = w.Button(description="Approve", button_style="success", icon="check", layout=auto)
        self.changes = w.Button(description="Request changes", button_style="warning", icon="pencil",
                                layout=w.Layout(width="auto", min_width="8em"))
        self.reject = w.Button(description="Reject", button_style="danger", icon="times",
                               layout=w.Layout(width="auto", min_width="8em"))
        self.approve.on_click(lambda _b: self.click("approved"))
        self.changes.on_click(lambda _b: self.click("changes_requested"))
        self.reject.on_click(lambda _b: self.click("rejected"))
        self.message = w.HTML()
        self.buttons = w.HBox([self.approve, self.changes, self.reject])
        extras = []
        # approve with edits: the reviewer's version of the output under review replaces it
        self.editor = None
        if req.editable:
            self.editor = w.Textarea(value=req.show or "", layout=w.Layout(width="98%", height="12em",
                                                                           display="none"))
            self.editor.add_class("orc-edit")
            self.edit = w.ToggleButton(description="Edit before approving", icon="pencil", value=False,
                                       layout=w.Layout(width="auto"))
            self.edit.observe(lambda ch: self._show_editor(ch["new"]), names="value")
            extras += [self.edit, self.editor]
        self.form = GateForm(req.input_schema) if req.input_schema is not None else None
        if self.form is not None:
            extras.append(self.form.widget)
        self.widget = w.VBox([self.title, self.shown, *extras, self.comment, self.buttons, self.message],
                             layout=w.Layout(border="2px solid #e37400", padding="4px 8px", margin="6px 0"))
        self.widget.add_class("orc-approval")

    def _show_editor(self, on: bool) -> None:
        self.editor.layout.display = None if on else "none"
        self.shown.layout.display = "none" if on else None

    def _edited(self):
        """The edited output, or None when the reviewer did not edit it. Structured output
        (shown as JSON) comes back as JSON when the edit still parses."""
        if self.editor is None or not self.edit.value or self.editor.value == (self.req.show or ""):
            return None
        text = self.editor.value
        if _structured(self.req.show or ""):
            try:
                return json.loads(text)
            except ValueError:
                raise FieldError("the edited output is not valid JSON any more (it was shown as JSON)")
        return text

    def click(self, decision: str) -> None:
        if self.future.done():
            return
        comment = (self.comment.value or "").strip() or None
        if decision == "changes_requested" and not comment:
            self.message.value = "<span style='color:#d93025'>Write what to change in the comment first.</span>"
            return
        edited = form = None
        if decision == "approved":
            try:
                edited = self._edited()
                form = self.form.value() if self.form is not None else None
            except FieldError as e:
                self.message.value = f"<span style='color:#d93025'>{_e(str(e))}</span>"
                return
        self.future.set_result(Decision(decision, comment, decided_by=who(), mode="interactive",
                                        edited=edited, input=form))

    def _disable(self) -> None:
        for b in (self.approve, self.changes, self.reject, self.comment):
            b.disabled = True
        if self.editor is not None:
            self.editor.disabled = self.edit.disabled = True
        if self.form is not None:
            self.form.disable()

    def decided(self, d: Decision) -> None:
        self._disable()
        mark, word, color = WORDS.get(d.decision, ("•", d.decision, "#5f6368"))
        where = MODE_WORDS.get(d.mode, d.mode)
        then = ""
        if d.decision == "changes_requested":
            then = f" — regenerating <b>{_e(self.req.revise or 'the previous step')}</b>, then asking again"
        comment = f": “{_e(d.comment)}”" if d.comment else ""
        if d.edited is not None:
            then += f" — with edits to <b>{_e(self.req.revise or 'the output')}</b>"
        if d.input is not None:
            then += f" — form: <code>{_e(json.dumps(d.input, ensure_ascii=False, default=str)[:300])}</code>"
        self.message.value = (f"<span style='color:{color}' class='orc-decision' data-decision='{_e(d.decision)}'>"
                              f"{mark} {word}</span> by {_e(d.decided_by or '?')} {where} at "
                              f"{time.strftime('%H:%M:%S', time.localtime(d.decided_at))}{comment}{then}")
        self.widget.layout.border = f"1px solid {color}"
        self.buttons.layout.display = "none"
        self.comment.layout.display = "none"
        if self.editor is not None:
            self.edit.layout.display = self.editor.layout.display = "none"
            self.shown.layout.display = None

    def snapshot_html(self) -> str:
        """The card as static HTML, for the notebook file once the run is over."""
        return (f"<div class='orc-approval' style='border:1px solid #9aa0a6;padding:4px 8px;margin:6px 0'>"
                f"{self.title.value}<details><summary style='cursor:pointer;font-size:12px;opacity:.8'>what was "
                f"reviewed</summary>{self.shown.value}</details><div>{self.message.value}</div></div>")

    def stopped(self, why: str = "the run stopped before a decision") -> None:
        self._disable()
        self.message.value = f"<span style='opacity:.7'>■ {_e(why)}</span>"
        if not self.future.done():
            self.future.cancel()


class ToolApprovalCard(ApprovalCard):
    """A tool call waiting for approval: the tool, its arguments (editable, as JSON), and Approve /
    Edit arguments (run it with the edited arguments) / Reject (the model hears the refusal and the
    comment)."""

    def __init__(self, req):
        import ipywidgets as w

        super().__init__(req)
        tool = req.tool or {}
        self.original = tool.get("arguments") or {}
        self.arguments = w.Textarea(value=json.dumps(self.original, indent=2, ensure_ascii=False),
                                    layout=w.Layout(width="98%", height=f"{min(16, 3 + len(self.original) * 2)}em"))
        self.arguments.add_class("orc-tool-arguments")
        self.comment.placeholder = "Comment (optional; the model reads it when you reject)"
        self.edit = w.Button(description="Edit arguments", button_style="info", icon="pencil",
                             layout=w.Layout(width="auto", min_width="8em"))
        self.edit.on_click(lambda _b: self.click_edit())
        self.buttons.children = (self.approve, self.edit, self.reject)
        label = w.HTML("<div style='font-size:12px;opacity:.75'>arguments (JSON; change them, then "
                       "<b>Edit arguments</b> runs the call with yours)</div>")
        self.widget.children = (self.title, self.shown, label, self.arguments, self.comment, self.buttons, self.message)

    def click_edit(self) -> None:
        import json
        if self.future.done():
            return
        try:
            edited = json.loads(self.arguments.value or "{}")
        except ValueError as e:
            self.message.value = f"<span style='color:#d93025'>The arguments are not valid JSON: {_e(str(e))}</span>"
            return
        if not isinstance(edited, dict):
            self.message.value = "<span style='color:#d93025'>The arguments must be a JSON object.</span>"
            return
        comment = (self.comment.value or "").strip() or None
        self.future.set_result(Decision("approved", comment, decided_by=who(), mode="interactive", edited=edited))

    def _disable(self) -> None:
        super()._disable()
        self.edit.disabled = self.arguments.disabled = True

    def decided(self, d: Decision) -> None:
        super().decided(d)
        if d.edited is not None and d.edited != self.original:
            self.message.value += " — with edited arguments"
        self.arguments.layout.display = "none"


class NotebookApprover:
    """``ask`` -> a card (when watched) or the headless fallback; other policies as given."""

    def __init__(self, *, store=None, view=None, watched=None, fallback: str | None = None, poll: float = 0.25):
        self.store, self.view, self.watched, self.poll = store, view, watched, poll
        fallback = fallback or os.environ.get("ORC_APPROVAL") or "defer"
        self.fallback = "defer" if fallback == "ask" else fallback
        self.cards: list[ApprovalCard] = []

    async def decide(self, req):
        policy = req.policy or "ask"
        if policy != "ask":
            return await PolicyApprover(policy).decide(req)
        if self.view is None or self.watched is None or not await self.watched():
            return await PolicyApprover(self.fallback).decide(req)
        card = ToolApprovalCard(req) if getattr(req, "tool", None) else ApprovalCard(req)
        self.cards.append(card)
        self.view.add_card(card)
        self.view.flush()
        elsewhere = asyncio.get_running_loop().create_task(self._inbox(req), name="orc-inbox")
        try:
            await asyncio.wait({card.future, elsewhere}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            card.stopped()
            raise
        finally:
            elsewhere.cancel()
        if card.future.done() and not card.future.cancelled():
            decision = card.future.result()
        else:
            decision = elsewhere.result()
            card.future.cancel()
        card.decided(decision)
        return decision

    async def _inbox(self, req) -> Decision:
        """A decision recorded in the store by someone else, noticed through the inbox file."""
        store = self.store
        if store is None:
            await asyncio.Event().wait()  # nothing to watch: only a click can decide
        seen = store.inbox_mtime(req.run_id)
        found = await asyncio.to_thread(store.find_decision, req.run_id, req.step_id, req.round)
        while found is None:
            await asyncio.sleep(self.poll)
            now = store.inbox_mtime(req.run_id)
            if now != seen:
                seen = now
                found = await asyncio.to_thread(store.find_decision, req.run_id, req.step_id, req.round)
        return found
