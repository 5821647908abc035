"""Who may call each route, written out here and not read from the code: widening a route's access,
or adding a route without adding it here, fails tests/web/test_security.py. One module per area, so
that work on different areas does not edit the same table."""

from tests.access import (
    campaign_discovery,
    campaign_report,
    campaigns,
    core,
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
    ranking_boards,
    ranking_relevance,
    ranking_weights,
    recognition_badges,
    recognition_gaming,
    recognition_queue,
    recognition_rewards,
    signals,
    timeline,
    views,
)

EXPECTED_ACCESS = {}
for _module in (core, people_list, views, identities, timeline, imports, merges, graph, ranking_boards, ranking_weights,
                ranking_relevance, campaigns, campaign_discovery, campaign_report, recognition_queue, recognition_badges,
                recognition_rewards, recognition_gaming,
                listening_topics, listening_radar, listening_alerts, listening_delivery, signals, listening_report):
    _clash = EXPECTED_ACCESS.keys() & _module.ACCESS.keys()
    assert not _clash, f"listed twice: {_clash}"
    EXPECTED_ACCESS.update(_module.ACCESS)
