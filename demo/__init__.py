"""The bundled demo: a small Durable Functions app and a runner that hosts it on devhost (``make demo``)."""
