"""The conciergerie contract over MQTT: messages, inbound handling, the outbox publisher."""
