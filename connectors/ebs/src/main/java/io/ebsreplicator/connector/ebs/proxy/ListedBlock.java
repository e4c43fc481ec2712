package io.ebsreplicator.connector.ebs.proxy;

/** A listed block: its index and the token to read it with ({@code null} if it has no data). */
public record ListedBlock(int blockIndex, String blockToken) {}
