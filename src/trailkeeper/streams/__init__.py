"""Streams to SIEMs: at-least-once delivery of a tenant's events, in seq order,
to Splunk, Datadog, Elasticsearch, Azure Monitor (Sentinel), S3, syslog and webhooks.

- :mod:`.config`: what a stream may be configured with, per type;
- :mod:`.formats`, :mod:`.ocsf`, :mod:`.cef`: the event as sent;
- :mod:`.destinations`: one module per SIEM protocol;
- :mod:`.engine`: one stream's delivery loop; :mod:`.supervisor`: leases and threads."""
