"""All HTML routes; none of them appear in the OpenAPI schema."""

from fastapi import APIRouter

from crm.web import api_docs, auth, dashboard, profiles, sections, settings_pages

web_router = APIRouter(include_in_schema=False)
for module in (auth, dashboard, profiles, sections, settings_pages, api_docs):
    web_router.include_router(module.router)
