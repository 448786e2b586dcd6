"""devhost: run any Python v2 Durable Functions app locally, in the role of ``func start``.

The host half (``cli``, ``server``, ``http_triggers``, ``eventgrid``, ``blob_triggers``, ``admin``, ``keys``,
``invoke``) serves triggers over HTTP and calls user functions as the Python worker does; the engine half
(``functions``, ``engine``, ``store``, ``clock``, ``durable_api``, ``testing``) indexes the app and runs
orchestrations, activities and entities durably on SQLite.
"""
