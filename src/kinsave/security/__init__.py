"""Protection against hostile input and abuse: body limits, security headers, rate limits,
the operator audit log."""
