"""All HTML routes; none of them appear in the OpenAPI schema.

Order matters: routers with fixed paths under /people (/people/views, /people/duplicates...) come
before crm.web.profiles, whose /people/{profile_id} would otherwise answer them with a 422."""

from fastapi import APIRouter

from crm.web import (
    api_docs,
    auth,
    campaign_discovery,
    campaign_report,
    campaigns,
    dashboard,
    graph,
    identities,
    imports,
    listening_alerts,
    listening_delivery,
    listening_radar,
    listening_report,
    listening_topics,
    merges,
    people_list,
    profiles,
    ranking,
    recognition_badges,
    recognition_gaming,
    recognition_queue,
    recognition_rewards,
    settings_pages,
    signals,
    timeline,
    views,
    weights,
)

web_router = APIRouter(include_in_schema=False)
for module in (auth, dashboard, people_list, views, identities, timeline, imports, merges, graph, ranking, weights,
               profiles, campaign_discovery, campaign_report, campaigns, recognition_badges, recognition_rewards,
               recognition_gaming, recognition_queue,
               listening_topics, listening_radar, listening_delivery, listening_alerts, signals, listening_report,
               settings_pages, api_docs):
    web_router.include_router(module.router)
