"""Configurator: tools IT staff use to author, import, check and publish procedure templates."""
