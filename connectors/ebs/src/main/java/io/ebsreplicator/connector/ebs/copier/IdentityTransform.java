package io.ebsreplicator.connector.ebs.copier;

/**
 * {@link BlockTransform#IDENTITY}. An enum, not a lambda, so that it stays the one instance when
 * Flink serializes the copier to its tasks (a deserialized lambda is a new object): the copier
 * recognises it by identity and then skips the transform entirely.
 */
enum IdentityTransform implements BlockTransform {
    INSTANCE;

    @Override
    public byte[] apply(int blockIndex, byte[] data) {
        return data;
    }
}
