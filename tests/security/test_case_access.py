"""Who may read a case (issue 18, medium): operators see the queue, the cases assigned to
them and those shared with them; supervisors and admins see all; every view of a case,
of its timeline and of its evidence is in the audit log."""

from __future__ import annotations

from bot.store.users import Role, User
from tests.chat import Chat
from tests.console import Operator

JPEG = b"\xff\xd8 evidence of a bruise"


async def test_an_operator_reads_only_their_cases_the_queue_and_what_is_shared(
    desk: Chat,
) -> None:
    ana_user = User("ana", Role.OPERATOR.value, "Ana", "x")
    worker = await desk.new_worker()
    await worker.say("tolong majikan sy mukul sy td malam")
    await worker.upload(JPEG, caption="ini lengan sy")
    case = await desk.services.cases.open_case_of(worker.sender)
    assert case is not None
    ref = (await desk.media_refs(case.id))[0]
    budi = await Operator.signed_in(desk, "budi")
    await desk.console.users.add("ana", "correct horse battery", Role.OPERATOR, "Ana", "en")
    supervisor = await Operator.signed_in(desk, "susi", Role.SUPERVISOR)
    try:
        # On the queue, unclaimed: any operator may look before claiming.
        assert (await budi.get(f"/console/cases/{case.id}"))[0] == 200
        await desk.casework.claim(case.id, ana_user)
        # Ana's now: Budi sees neither the case, its timeline, its file nor it in a search.
        for path in (
            f"/console/cases/{case.id}",
            f"/console/cases/{case.id}/timeline",
            f"/console/evidence/{ref}?case={case.id}",
        ):
            assert (await budi.get(path))[0] == 403, path
        assert case.id not in (await budi.get("/console/cases?status="))[1]
        # A supervisor sees all, and downloads the file.
        assert (await supervisor.get(f"/console/cases/{case.id}"))[0] == 200
        async with supervisor.session.get(
            f"{desk.base}/console/evidence/{ref}?case={case.id}"
        ) as response:
            assert response.status == 200 and await response.read() == JPEG
        # A file is only reachable through a case that holds it.
        other = await desk.new_worker()
        await other.say("tolong sy dipukul majikan td pagi")  # the crisis lexicon knows it
        unrelated = await desk.services.cases.open_case_of(other.sender)
        assert unrelated is not None
        assert (await supervisor.get(f"/console/evidence/{ref}?case={unrelated.id}"))[0] == 404
        # Ana shares it with Budi: now he may read it.
        await desk.casework.share(case.id, ana_user, "budi")
        assert (await budi.get(f"/console/cases/{case.id}"))[0] == 200
        assert (await budi.get(f"/console/cases/{case.id}/timeline"))[0] == 200
    finally:
        await budi.close()
        await supervisor.close()
    audited = [(e.user, e.action) for e in await desk.console.audit.recent(case_id=case.id)]
    assert ("susi", "evidence") in audited and ("budi", "view_timeline") in audited
    assert ("susi", "view") in audited
