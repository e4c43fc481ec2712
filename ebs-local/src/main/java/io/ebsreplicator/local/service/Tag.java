package io.ebsreplicator.local.service;

/** A snapshot tag. */
public record Tag(String key, String value) {}
