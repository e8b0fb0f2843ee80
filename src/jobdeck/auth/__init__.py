"""Who may do what: users and roles, API tokens, sessions, CSRF, the route rule table, the safe default."""
