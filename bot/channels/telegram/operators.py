"""The on-call operators' Telegram group.

Each new escalation is posted with a Claim button; once claimed, the post names who has
it. In the thread under the post (replies to it), an operator answers the worker; the
commands /note, /canned NAME, /transfer NAME and /close OUTCOME work there too (and /next
anywhere in the group takes the next waiting case); each action is in the audit
log. Unclaimed emergencies are announced again, mentioning the on-call operators.

A group chat is outside the helpline's walls: posts carry the case number, category,
country and marks only; the worker's words go there (the summary, their messages on a
claimed case) only when the helpline opts in (HELPLINE_TELEGRAM_GROUP_TEXTS=1) - else
the thread says the worker wrote again, and the console has it. Operators are the
console's users with a Telegram user id (`helpline users add NAME --telegram ID`; /whoami
in the group tells someone their id): matched by that id, never by a username anyone can
change; anyone else is told so.

Every bot process listens to the same case events; each post is taken once across
processes (bot/store/telegram.py), and a case's worker messages are relayed by one
process at a time, in timeline order, from where the last relay stopped - so two bot
processes post as one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import RedisError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram import User as TelegramUser
from telegram.error import TelegramError

from bot.case_facts import OUTCOMES
from bot.casework import MARK_LABELS, Casework, CaseworkError, PendingReferral
from bot.i18n import _, use_locale
from bot.store.audit import AuditLog
from bot.store.cases import Case, Priority, Status
from bot.store.events import Events, follow
from bot.store.telegram import GroupPosts
from bot.store.users import CASE_ROLES, SUPERVISING, User, UserStore
from bot.tasks import stop_tasks

log = logging.getLogger(__name__)

# Timeline entries that are the worker speaking: relayed to the thread of a claimed case.
_WORKER_KINDS = ("worker_message", "media", "location")
# Changes to a case that its post in the group shows.
_ALERT_CHANGES = ("assigned", "status", "reopened", "marked", "priority")


def _mentions(users: list[User]) -> str:
    """Plain-text mentions by user id (Telegram links them without a username)."""
    return " ".join(f"{u.display_name} (tg://user?id={u.telegram})" for u in users)


class OperatorGroup:
    def __init__(
        self,
        bot: Bot,
        chat_id: int | None,
        posts: GroupPosts,
        events: Events,
        casework: Casework,
        users: UserStore,
        locale: str = "id",
        *,
        audit: AuditLog,
        texts: bool = False,
    ) -> None:
        assert chat_id is not None
        self.bot, self.chat_id = bot, chat_id
        self.posts, self._events = posts, events
        self.casework, self.users, self.locale = casework, users, locale
        self.audit, self.texts = audit, texts
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(follow(self._events, self._on_event, ready))
        await asyncio.wait_for(ready.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])

    # -- events: posts in the group ------------------------------------------------

    async def _on_event(self, event: dict[str, Any]) -> None:
        kind, case_id = event.get("type"), str(event.get("case_id", ""))
        if not case_id:
            return
        with use_locale(self.locale):
            if kind == "escalation" and event.get("outcome") in ("added", "raised"):
                if await self._first(case_id, f"post:{event.get('priority')}"):
                    await self._post_alert(case_id)
            elif kind == "escalation" and event.get("outcome") == "announced":
                if await self._first(case_id, f"announce:{event.get('announcement')}"):
                    reason = str(event.get("reason") or "reannounce")
                    await self._announce_again(case_id, int(event.get("waited", 0)), reason)
            elif kind == "supervisor":
                reason = str(event.get("reason") or "emergency")
                if await self._first(case_id, f"supervisor:{reason}"):
                    await self._supervisor(case_id, int(event.get("waited", 0)), reason)
            elif kind == "case" and event.get("kind") in _ALERT_CHANGES:
                await self._refresh_alert(case_id)
            elif kind == "case" and event.get("kind") in _WORKER_KINDS:
                await self._relay_worker_messages(case_id)
            elif (
                kind == "case"
                and event.get("kind") == "worker_data_erased"
                and await self._first(case_id, "erased")
            ):
                await self._erase_posts(case_id)

    async def _first(self, case_id: str, what: str) -> bool:
        return await self.posts.first(case_id, what)

    def _alert_text(self, case: Case) -> str:
        title = {
            Priority.CRITICAL.value: _("🚨 EMERGENCY"),
            Priority.HIGH.value: _("⚠️ Urgent case"),
        }.get(case.priority, _("📝 New case"))
        lines = [f"{title} {case.id}", f"{case.category} / {case.country or '-'}"]
        if case.marks:
            lines.append(
                "⚑ " + ", ".join(_(MARK_LABELS[m]) for m in case.marks if m in MARK_LABELS)
            )
        if case.summary and self.texts:
            lines.append(f"“{case.summary[:500]}”")
        if case.assignee:
            lines.append(_("Claimed by {name}.").format(name=case.assignee))
        if not case.is_open:
            lines.append(_("Case {status}.").format(status=case.status))
        lines.append(
            _(
                "Reply to this message to answer the worker. In replies: /note TEXT, "
                "/canned NAME, /transfer NAME, /close OUTCOME."
            )
        )
        return "\n".join(lines)

    def _claim_button(self, case: Case) -> InlineKeyboardMarkup | None:
        if case.assignee or not case.is_open:
            return None
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("Claim"), callback_data=f"claim:{case.id}")]]
        )

    async def _post_alert(self, case_id: str) -> None:
        case = await self.casework.services.cases.get(case_id)
        if case is None:
            return
        old = await self._alert_of(case_id)
        sent = await self._send(self._alert_text(case), self._claim_button(case), case_id=case_id)
        if sent is None:
            return
        if old is not None:
            # A case raised to an emergency gets a new post; the old one stops offering Claim.
            await self._edit(old, case, with_button=False)
        await self.posts.set_alert(case_id, sent.message_id)

    async def _announce_again(self, case_id: str, waited: int, reason: str) -> None:
        case = await self.casework.services.cases.get(case_id)
        if case is None or not case.is_open:
            return
        if case.assignee and reason not in ("not_safe", "watched"):
            return
        mentions = _mentions(await self._on_call())
        if reason == "not_safe":
            text = _("🚨 The worker says they are NOT SAFE: {case}. {who} {mentions}").format(
                case=case_id,
                who=_("With {name}.").format(name=case.assignee) if case.assignee else "",
                mentions=mentions,
            )
        elif reason == "watched":
            text = _(
                "🚨 Code word: the worker in {case} may be watched - write neutrally. {mentions}"
            ).format(case=case_id, mentions=mentions)
        else:
            text = _("⏰ Still unclaimed after {minutes} min: {case}. {mentions}").format(
                minutes=max(1, waited // 60), case=case_id, mentions=mentions
            )
        await self._send(
            text, self._claim_button(case), reply_to=await self._alert_of(case_id), case_id=case_id
        )

    async def _supervisor(self, case_id: str, waited: int, reason: str = "emergency") -> None:
        supervisors = [u for u in await self._on_call() if u.role in SUPERVISING]
        mentions = _mentions(supervisors)
        minutes = max(1, waited // 60)
        if reason == "not_safe":
            text = _(
                "🆘 Supervisors: the worker in {case} said they are NOT SAFE {minutes} min "
                "ago and nobody has claimed it. {mentions}"
            ).format(case=case_id, minutes=minutes, mentions=mentions)
        elif reason == "waiting_limit":
            text = _(
                "🆘 Supervisors: {case} has waited {minutes} min of staffed time for a "
                "person. {mentions}"
            ).format(case=case_id, minutes=minutes, mentions=mentions)
        else:
            text = _(
                "🆘 Supervisors: emergency {case} has waited {minutes} min with nobody on it. "
                "{mentions}"
            ).format(case=case_id, minutes=minutes, mentions=mentions)
        await self._send(text, None, reply_to=await self._alert_of(case_id), case_id=case_id)

    async def _refresh_alert(self, case_id: str) -> None:
        message_id = await self._alert_of(case_id)
        case = await self.casework.services.cases.get(case_id)
        if message_id is not None and case is not None:
            await self._edit(message_id, case, with_button=True)

    async def _relay_worker_messages(self, case_id: str) -> None:
        """What the worker said since the last relay, in order, by one process at a time.
        A process that finds another relaying leaves it: the holder looks again once it
        lets go, so a message that arrived meanwhile is not left behind."""
        while True:
            async with self.posts.relaying(case_id) as ours:
                if not ours:
                    return
                seen = await self._relay_new(case_id)
            if await self.casework.services.cases.timeline_length(case_id) <= seen:
                return

    async def _relay_new(self, case_id: str) -> int:
        cursor = await self.posts.relayed(case_id)
        cases = self.casework.services.cases
        # Never relayed before: only the latest words (what came before is in the alert).
        length, entries = await cases.timeline_from(case_id, cursor if cursor >= 0 else -10)
        said = [e for e in entries if e.get("kind") in _WORKER_KINDS]
        if cursor < 0:
            said = said[-1:]
        message_id = await self._alert_of(case_id)
        case = await cases.get(case_id)
        if message_id is not None and case is not None and case.assignee is not None:
            for entry in said:
                text = self._relay_text(case_id, entry)
                if text is not None:
                    await self._send(text, None, reply_to=message_id, case_id=case_id)
        await self.posts.set_relayed(case_id, length)
        return length

    def _relay_text(self, case_id: str, entry: dict[str, Any]) -> str | None:
        if entry["kind"] == "media":
            return _(
                "👤 Worker ({case}) sent a file ({kind}); open the case in the console."
            ).format(case=case_id, kind=(entry.get("media") or {}).get("kind", "?"))
        if entry["kind"] == "location":
            return _("👤 Worker ({case}) shared a location; open the case in the console.").format(
                case=case_id
            )
        if entry.get("text") and self.texts:
            return _("👤 Worker ({case}): {text}").format(case=case_id, text=entry["text"])
        if entry.get("text"):
            return _("👤 The worker wrote again ({case}); read it in the console.").format(
                case=case_id
            )
        return None

    async def _on_call(self) -> list[User]:
        return [
            u
            for u in await self.users.all()
            if u.telegram and u.role in CASE_ROLES and not u.disabled
        ]

    async def _alert_of(self, case_id: str) -> int | None:
        return await self.posts.alert_of(case_id)

    async def _send(
        self,
        text: str,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None = None,
        *,
        case_id: str,
    ) -> Message | None:
        """Posts in the group; every post about a case is remembered, so erasing the
        worker's data can remove them."""
        try:
            sent = await self.bot.send_message(
                self.chat_id, text, reply_markup=markup, reply_to_message_id=reply_to
            )
        except (TelegramError, RuntimeError) as exc:
            log.error("operators' group: could not post: %s", exc)
            return None
        await self.posts.remember(case_id, sent.message_id)
        return sent

    async def _erase_posts(self, case_id: str) -> int:
        """The worker erased their data: the posts about their case go from the group
        (or say "[erased]" where Telegram no longer lets a bot delete them)."""
        erased = 0
        ids = await self.posts.take_all(case_id)
        for message_id in ids:
            try:
                await self.bot.delete_message(self.chat_id, message_id)
                erased += 1
                continue
            except TelegramError as exc:
                log.info("operators' group: could not delete a post of %s: %s", case_id, exc)
            try:
                await self.bot.edit_message_text(
                    _("[erased]"), chat_id=self.chat_id, message_id=message_id
                )
                erased += 1
            except TelegramError as exc:
                log.warning("operators' group: a post of %s stays: %s", case_id, exc)
        return erased

    async def _edit(self, message_id: int, case: Case, *, with_button: bool) -> None:
        try:
            await self.bot.edit_message_text(
                self._alert_text(case),
                chat_id=self.chat_id,
                message_id=message_id,
                reply_markup=self._claim_button(case) if with_button else None,
            )
        except TelegramError as exc:
            log.info("operators' group: could not update the post of %s: %s", case.id, exc)

    # -- updates from the group ------------------------------------------------------

    async def handle(self, update: Update) -> None:
        with use_locale(self.locale):
            try:
                if update.callback_query is not None:
                    await self._pressed(update)
                elif update.message is not None:
                    await self._message(update.message)
            except RedisError:
                raise
            except CaseworkError as exc:
                await self._tell(update, str(exc))

    async def _operator(self, user: TelegramUser | None) -> User | None:
        found = await self.users.by_telegram(user.id if user else None)
        if found is None or found.role not in CASE_ROLES:
            log.warning("operators' group: someone who is not a helpline operator acted")
            return None
        return found

    async def _pressed(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        operator = await self._operator(query.from_user)
        data = query.data or ""
        if operator is None:
            await query.answer(
                _("You are not registered as an operator of this helpline."), show_alert=True
            )
            return
        if not data.startswith("claim:"):
            await query.answer()
            return
        case_id = data.removeprefix("claim:")
        try:
            await self.casework.claim(case_id, operator)
        except CaseworkError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        await self.audit.record(operator.username, "claim", case_id, "telegram", "telegram")
        await query.answer(_("The case is yours. Reply to the post to answer the worker."))

    async def _message(self, message: Message) -> None:
        if (message.text or "").split("@", 1)[0].strip().lower() == "/whoami":
            user = message.from_user
            if user is not None:
                await message.reply_text(
                    _(
                        "Your Telegram user id is {id}. An admin registers you with: "
                        "helpline users add NAME --telegram {id}"
                    ).format(id=user.id)
                )
            return
        if (message.text or "").split("@", 1)[0].strip().lower() == "/next":
            await self._next(message)
            return
        reply_to = message.reply_to_message
        if reply_to is None or not message.text:
            return
        found = await self.posts.case_of(reply_to.message_id)
        if found is None:
            return
        case_id = found
        operator = await self._operator(message.from_user)
        if operator is None:
            await message.reply_text(_("You are not registered as an operator of this helpline."))
            return
        text = message.text.strip()
        command, _sep, rest = text.partition(" ")
        command = command.split("@", 1)[0].lower()
        work = self.casework
        action = {"/note": "note", "/transfer": "transfer", "/close": "close"}.get(command)
        if command == "/canned":
            # A canned reply by its name, filled in for the worker's country and language.
            text = await work.canned_text(await work.case(case_id), rest)
            command, action = "", "reply"
        if command == "/note":
            await work.note(case_id, operator, rest)
            await message.reply_text(_("Note added."))
        elif command == "/transfer":
            await work.transfer(case_id, operator, rest.strip().removeprefix("@"))
            await message.reply_text(_("Transferred to {name}.").format(name=rest.strip()))
        elif command == "/close":
            words = rest.split()
            outcome = words[0].lower() if words else ""
            if outcome not in OUTCOMES:
                await message.reply_text(
                    _("How did it end? Reply /close with one of: {outcomes}.").format(
                        outcomes=", ".join(OUTCOMES)
                    )
                )
                return
            anyway = "anyway" in (w.lower() for w in words[1:])
            try:
                await work.set_status(
                    case_id, operator, Status.CLOSED, outcome=outcome, close_anyway=anyway
                )
            except PendingReferral as exc:
                await message.reply_text(
                    f"{exc} " + _("Reply /close {outcome} anyway.").format(outcome=outcome)
                )
                return
            await message.reply_text(_("Closed; the worker got the closing message."))
        elif command.startswith("/"):
            await message.reply_text(
                _("In replies: /note TEXT, /canned NAME, /transfer NAME, /close OUTCOME.")
            )
        else:
            case = await work.case(case_id)
            if case.assignee is None:
                await work.claim(case_id, operator)
            await work.reply(case_id, operator, text)
            await message.reply_text(_("Sent to the worker."))
            action = "reply"
        if action is not None:
            # From the group as from the console: every action is in the audit log.
            await self.audit.record(operator.username, action, case_id, "telegram", "telegram")

    async def _next(self, message: Message) -> None:
        """/next in the group: the oldest waiting escalation of the highest priority,
        claimed for the operator who asked."""
        operator = await self._operator(message.from_user)
        if operator is None:
            await message.reply_text(_("You are not registered as an operator of this helpline."))
            return
        case = await self.casework.claim_next(operator)
        if case is None:
            await message.reply_text(_("Nobody is waiting right now."))
            return
        await self.audit.record(operator.username, "claim", case.id, "next", "telegram")
        await message.reply_text(
            _("Case {case} is yours. Reply to its post to answer the worker.").format(case=case.id)
        )

    async def _tell(self, update: Update, text: str) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None:
            await update.message.reply_text(text)
