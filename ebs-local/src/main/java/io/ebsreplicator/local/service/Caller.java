package io.ebsreplicator.local.service;

/** Who a request acts as, after its signature was verified: an account in a region. */
public record Caller(String accountId, String region) {}
