"""Flask delivery: the app (web.app.create_app), a blueprint per workspace, the API, the CLI.
Views parse input, call one use case, render. Importing this package imports no Flask, so
`motcua worker` and the other operator commands run without it."""
