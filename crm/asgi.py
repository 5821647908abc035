"""The app for ASGI servers, configured from the environment (CRM_*):

    uvicorn crm.asgi:app --workers 4        or        crm serve --workers 4

The engine is still built in the lifespan, once per worker process.
"""

from crm.app import create_app

app = create_app()
