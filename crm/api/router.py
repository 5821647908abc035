"""JSON routes under /api/v1."""

from fastapi import APIRouter

from crm.api import (
    campaign_discovery,
    campaign_report,
    campaigns,
    exports,
    graph,
    imports,
    interactions,
    listening_alerts,
    listening_delivery,
    listening_radar,
    listening_report,
    listening_topics,
    merges,
    profiles,
    ranking,
    recognition_badges,
    recognition_gaming,
    recognition_queue,
    recognition_rewards,
    relationships,
    relevance,
    signals,
    views,
    weights,
)

api_router = APIRouter(prefix="/api/v1")
for module in (views, exports, merges, imports, interactions, relationships, graph, ranking, relevance, weights,
               campaign_discovery, campaign_report, campaigns, recognition_badges, recognition_rewards, recognition_gaming,
               recognition_queue,
               listening_topics, listening_radar, listening_alerts, listening_delivery, signals, listening_report, profiles):
    api_router.include_router(module.router)
