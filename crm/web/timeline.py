"""The profile page's history: older pages of the timeline (HTML)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from crm.deps import DB, CurrentUser, IdPath
from crm.interactions.timeline import count_interactions, timeline
from crm.profiles import service as profiles
from crm.schemas import MAX_ID
from crm.templating import is_fragment_request, render
from crm.web.common import redirect

router = APIRouter(prefix="/people")


@router.get("/{profile_id}/timeline")
def timeline_page(
    request: Request, db: DB, user: CurrentUser, profile_id: IdPath,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,  # no one has more interactions than there are ids
) -> Response:
    """Older history for the profile page (htmx appends it); without htmx, the profile page itself."""
    if not is_fragment_request(request):
        return redirect(request, f"/people/{profile_id}#timeline")
    profiles.get_profile(profile_id, session=db)
    items = timeline(profile_id, session=db, offset=offset)
    context = {"items": items, "profile_id": profile_id, "shown": offset + len(items),
               "total": count_interactions(profile_id, session=db)}
    return render(request, "profiles/_timeline_page.html", context)
