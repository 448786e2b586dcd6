"""devhost: run any Python v2 Durable Functions app locally, in the role of ``func start``.

The host half (``cli``, ``server``, ``http_triggers``, ``eventgrid``, ``blob_triggers``,
``blob_bindings``, ``queue_triggers``, ``timer_triggers``, ``connections``, ``host_config``, ``admin``,
``keys``, ``invoke``) serves triggers over HTTP and calls user functions as the Python worker does; the engine
half (``functions`` and ``worker_rules``, ``engine``, ``store``, ``clock`` and ``clock_api``, ``durable_api``,
``testing``) indexes the app with the worker's rules and runs orchestrations, activities and entities durably
on SQLite.
"""
