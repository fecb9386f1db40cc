"""xphone.connect lab: a loopback Exchange and Windows endpoint for the real pypsrp and pywinrm clients."""
