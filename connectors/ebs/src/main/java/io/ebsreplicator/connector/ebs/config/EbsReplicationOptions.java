package io.ebsreplicator.connector.ebs.config;

import io.ebsreplicator.connector.ebs.source.enumerator.RequestQueue;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Every option of the EBS connector, in one place, one kebab-case key scheme under {@code ebs.}.
 * The defaults follow the EBS direct API quotas and what a cross-region link needs.
 */
public final class EbsReplicationOptions {

    private EbsReplicationOptions() {}

    // ------------------------------------------------------------------ endpoints and credentials

    public static final ConfigOption<Map<String, String>> ENDPOINTS =
            ConfigOptions.key("ebs.endpoints")
                    .mapType()
                    .defaultValue(Map.of())
                    .withDescription(
                            "Endpoint override per region, e.g. 'us-east-1:http://127.0.0.1:4566'."
                                    + " Regions not listed use the AWS endpoint. The same URL"
                                    + " serves the EBS direct APIs and EC2 DescribeSnapshots.");

    public static final ConfigOption<String> ACCESS_KEY_ID =
            ConfigOptions.key("ebs.credentials.access-key-id")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Static access key id; when unset, the AWS default credentials"
                                    + " provider chain is used (environment, profile, instance or"
                                    + " pod role).");

    public static final ConfigOption<String> SECRET_ACCESS_KEY =
            ConfigOptions.key("ebs.credentials.secret-access-key")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Static secret access key, with ebs.credentials.access-key-id.");

    public static final ConfigOption<String> SOURCE_ROLE_ARN =
            ConfigOptions.key("ebs.credentials.source-role-arn")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "An IAM role the job assumes (with its own credentials) to read the"
                                    + " source region; unset: the job's own credentials.");

    public static final ConfigOption<List<String>> TARGET_ROLE_ARNS =
            ConfigOptions.key("ebs.credentials.target-role-arns")
                    .stringType()
                    .asList()
                    .defaultValues()
                    .withDescription(
                            "IAM roles the job assumes to write each target region, as"
                                    + " REGION=ARN entries separated by ';', e.g."
                                    + " 'us-west-2=arn:aws:iam::222222222222:role/dr-copier'."
                                    + " The target snapshots then belong to that role's account."
                                    + " Regions not listed use the job's own credentials.");

    public static final ConfigOption<String> ROLE_EXTERNAL_ID =
            ConfigOptions.key("ebs.credentials.role-external-id")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "The external id the assumed roles' trust policies require, if any.");

    public static final ConfigOption<String> ROLE_SESSION_NAME =
            ConfigOptions.key("ebs.credentials.role-session-name")
                    .stringType()
                    .defaultValue("ebs-replicator")
                    .withDescription(
                            "The session name of the assumed roles, as CloudTrail records it.");

    public static final ConfigOption<Duration> ROLE_REFRESH_AHEAD =
            ConfigOptions.key("ebs.credentials.role-refresh-ahead")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(5))
                    .withDescription(
                            "How long before they expire assumed-role credentials are refreshed"
                                    + " in the background.");

    public static final ConfigOption<List<String>> ALLOWED_ROLE_ARNS =
            ConfigOptions.key("ebs.credentials.allowed-role-arns")
                    .stringType()
                    .asList()
                    .defaultValues()
                    .withDescription(
                            "Roles a request may name for a target (targets[].roleArn), besides"
                                    + " the configured target role of that region: exact ARNs,"
                                    + " prefixes ending in '*', or '*' for any role the job's"
                                    + " credentials may assume. A request naming another role"
                                    + " fails with ROLE_NOT_ALLOWED.");

    public static final ConfigOption<String> STS_ENDPOINT =
            ConfigOptions.key("ebs.sts.endpoint")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Endpoint override of STS (AssumeRole), e.g. ebs-local's URL;"
                                    + " unset: the STS endpoint of the region.");

    public static final ConfigOption<String> CA_BUNDLE =
            ConfigOptions.key("ebs.tls.ca-bundle")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "A PEM file of certificates to trust for HTTPS endpoints, besides the"
                                    + " JDK's own trust store: for private endpoints with their own"
                                    + " certificate authority, or ebs-local --tls (it prints the path).");

    // ------------------------------------------------------------------ timeouts and retries

    public static final ConfigOption<Duration> ATTEMPT_TIMEOUT =
            ConfigOptions.key("ebs.request.attempt-timeout")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(30))
                    .withDescription("Timeout of one attempt of any EBS or EC2 call.");

    public static final ConfigOption<Duration> TOTAL_TIMEOUT =
            ConfigOptions.key("ebs.request.total-timeout")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(10))
                    .withDescription(
                            "How long one call may keep retrying retryable errors (throttling, 5xx,"
                                    + " resets, timeouts) before it is reported as failed.");

    public static final ConfigOption<Duration> CONTROL_ATTEMPT_TIMEOUT =
            ConfigOptions.key("ebs.control.attempt-timeout")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(10))
                    .withDescription(
                            "Timeout of one attempt of a control-plane call (StartSnapshot,"
                                    + " CompleteSnapshot, DescribeSnapshots): small requests that"
                                    + " EBS answers in well under a second.");

    public static final ConfigOption<Duration> CONTROL_TOTAL_TIMEOUT =
            ConfigOptions.key("ebs.control.total-timeout")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(1))
                    .withDescription(
                            "How long a control-plane call keeps retrying before its caller is told:"
                                    + " the enumerator and completion then try again on their own"
                                    + " schedule, so a region that stops answering holds a call"
                                    + " for at most this long.");

    public static final ConfigOption<Duration> RETRY_BASE_BACKOFF =
            ConfigOptions.key("ebs.retry.base-backoff")
                    .durationType()
                    .defaultValue(Duration.ofMillis(100))
                    .withDescription("First backoff after a retryable error; doubles per attempt.");

    public static final ConfigOption<Duration> RETRY_MAX_BACKOFF =
            ConfigOptions.key("ebs.retry.max-backoff")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(20))
                    .withDescription(
                            "Largest backoff between two attempts (full jitter below it).");

    public static final ConfigOption<Duration> NEW_SNAPSHOT_GRACE =
            ConfigOptions.key("ebs.retry.new-snapshot-grace")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(2))
                    .withDescription(
                            "For this long after StartSnapshot, 'snapshot does not exist' answers on"
                                    + " the new snapshot are retried: EBS needs a while to make a"
                                    + " new snapshot visible everywhere.");

    // ------------------------------------------------------------------ request budget per region

    public static final ConfigOption<Double> GET_RATE =
            ConfigOptions.key("ebs.rate.get-per-second")
                    .doubleType()
                    .defaultValue(1000.0)
                    .withDescription(
                            "GetSnapshotBlock requests per second per region for the whole job"
                                    + " (EBS default quota: 1,000 per account); each subtask gets"
                                    + " its share, cut by a quarter on throttling and regrown slowly.");

    public static final ConfigOption<Double> PUT_RATE =
            ConfigOptions.key("ebs.rate.put-per-second")
                    .doubleType()
                    .defaultValue(1000.0)
                    .withDescription(
                            "PutSnapshotBlock requests per second per region for the whole job"
                                    + " (EBS default quota: 1,000 per account and per snapshot).");

    public static final ConfigOption<Double> LIST_RATE =
            ConfigOptions.key("ebs.rate.list-per-second")
                    .doubleType()
                    .defaultValue(50.0)
                    .withDescription(
                            "ListSnapshotBlocks plus ListChangedBlocks requests per second per"
                                    + " region for the whole job (EBS default quota: 50).");

    public static final ConfigOption<Double> CONTROL_RATE =
            ConfigOptions.key("ebs.rate.control-per-second")
                    .doubleType()
                    .defaultValue(10.0)
                    .withDescription(
                            "StartSnapshot and CompleteSnapshot requests per second per region"
                                    + " (EBS default quota: 10 each).");

    // ------------------------------------------------------------------ source

    public static final ConfigOption<Integer> SPLITS_PER_REQUEST =
            ConfigOptions.key("ebs.source.splits-per-request")
                    .intType()
                    .defaultValue(0)
                    .withDescription(
                            "Block-index ranges one request is cut into, so a large volume is"
                                    + " listed and copied by many readers; 0 means four per source"
                                    + " reader.");

    public static final ConfigOption<Integer> MIN_SPLIT_BLOCKS =
            ConfigOptions.key("ebs.source.min-split-blocks")
                    .intType()
                    .defaultValue(2048)
                    .withDescription(
                            "Smallest block-index range worth a split (2,048 blocks = 1 GiB of"
                                    + " volume address space).");

    public static final ConfigOption<Integer> LIST_PAGE_SIZE =
            ConfigOptions.key("ebs.source.list-page-size")
                    .intType()
                    .defaultValue(10000)
                    .withDescription("MaxResults of each List call (100..10,000).");

    // ------------------------------------------------------------------ copier

    public static final ConfigOption<Integer> MAX_IN_FLIGHT =
            ConfigOptions.key("ebs.copier.max-in-flight")
                    .intType()
                    .defaultValue(32)
                    .withDescription(
                            "Blocks a copier subtask works on at once (each holds one 512 KiB"
                                    + " block in memory).");

    public static final ConfigOption<Integer> READ_ATTEMPTS =
            ConfigOptions.key("ebs.copier.read-attempts")
                    .intType()
                    .defaultValue(5)
                    .withDescription(
                            "Reads of a block whose data does not match its checksum before the"
                                    + " request fails.");

    // ------------------------------------------------------------------ targets and completion

    public static final ConfigOption<Duration> TARGET_TIMEOUT =
            ConfigOptions.key("ebs.target.timeout")
                    .durationType()
                    .defaultValue(Duration.ofHours(1))
                    .withDescription(
                            "StartSnapshot Timeout of each target (10 minutes .. 72 hours): EBS"
                                    + " cancels a target that makes no progress for this long.");

    public static final ConfigOption<Duration> TARGET_WATCH_INTERVAL =
            ConfigOptions.key("ebs.target.watch-interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(30))
                    .withDescription(
                            "How often the source asks EC2 DescribeSnapshots about the targets"
                                    + " whose blocks are still being read, so that one EBS"
                                    + " cancelled (its Timeout passed during an outage or while"
                                    + " the job was down) is replaced by a new target.");

    public static final ConfigOption<Duration> TARGET_WATCH_GRACE =
            ConfigOptions.key("ebs.target.watch-grace")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(2))
                    .withDescription(
                            "How long a target stays watched after all its blocks were read. A"
                                    + " target cancelled later is reported as failed, not"
                                    + " replaced.");

    public static final ConfigOption<Integer> TARGET_MAX_GENERATIONS =
            ConfigOptions.key("ebs.target.max-generations")
                    .intType()
                    .defaultValue(3)
                    .withDescription(
                            "How many times the target of one request in one region may be"
                                    + " replaced after EBS cancelled it, before the request"
                                    + " fails for that region.");

    public static final ConfigOption<RequestQueue.Order> SCHEDULING_ORDER =
            ConfigOptions.key("ebs.scheduling.order")
                    .enumType(RequestQueue.Order.class)
                    .defaultValue(RequestQueue.Order.DEADLINE)
                    .withDescription(
                            "The order in which ready requests start when more are ready than the"
                                    + " EBS quotas let start: DEADLINE (earliest deadline first,"
                                    + " then higher priority, then arrival) or ARRIVAL. A lineage's"
                                    + " requests always start in arrival order.");

    public static final ConfigOption<Integer> TARGET_MAX_PENDING =
            ConfigOptions.key("ebs.target.max-pending")
                    .intType()
                    .defaultValue(100)
                    .withDescription(
                            "The most target snapshots this job holds pending at once per region"
                                    + " (EBS default quota: 100 pending snapshots per account and"
                                    + " region). Lower it when other writers share the account;"
                                    + " a backlog waits in the request queue.");

    public static final ConfigOption<Duration> TARGET_QUOTA_WAIT =
            ConfigOptions.key("ebs.target.quota-wait")
                    .durationType()
                    .defaultValue(Duration.ofHours(1))
                    .withDescription(
                            "How long a request waits for room when StartSnapshot meets the"
                                    + " account's pending-snapshot quota (other writers hold"
                                    + " pending snapshots there) before it fails with"
                                    + " QUOTA_EXCEEDED; meanwhile the region takes no new starts"
                                    + " until one of this job's targets there completes.");

    public static final ConfigOption<Duration> TARGET_SEAL_INTERVAL =
            ConfigOptions.key("ebs.target.seal-interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(1))
                    .withDescription(
                            "How often the enumerator asks DescribeSnapshots (in one call per"
                                    + " region) about targets whose blocks are all read: their"
                                    + " completion frees a pending slot and lets the next copy of"
                                    + " their lineage start.");

    public static final ConfigOption<Duration> DEDUPE_RETENTION =
            ConfigOptions.key("ebs.intake.dedupe-retention")
                    .durationType()
                    .defaultValue(Duration.ofDays(7))
                    .withDescription(
                            "In a long-running job, how long a request id is remembered: a"
                                    + " message with an id accepted within this time is a"
                                    + " duplicate and is not replicated again.");

    public static final ConfigOption<Duration> COMPLETION_POLL_INTERVAL =
            ConfigOptions.key("ebs.completion.poll-interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(2))
                    .withDescription(
                            "How often a sealing target is checked with EC2 DescribeSnapshots, at"
                                    + " most: the first check comes ebs.completion.first-poll after"
                                    + " CompleteSnapshot, each later wait is half the time the"
                                    + " target has been sealing so far, up to this interval.");

    public static final ConfigOption<Duration> COMPLETION_FIRST_POLL =
            ConfigOptions.key("ebs.completion.first-poll")
                    .durationType()
                    .defaultValue(Duration.ofMillis(250))
                    .withDescription(
                            "How soon after CompleteSnapshot is accepted a target is first checked"
                                    + " with EC2 DescribeSnapshots (at most"
                                    + " ebs.completion.poll-interval). A small snapshot seals in"
                                    + " about a second, and a one-shot copy ends when it is seen"
                                    + " completed.");

    public static final ConfigOption<Boolean> VERIFY =
            ConfigOptions.key("ebs.completion.verify")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription(
                            "After a target completes, read its block checksums back and compare"
                                    + " them with the source's before reporting success.");

    public static final ConfigOption<String> POLICY_FILE =
            ConfigOptions.key("ebs.policy.file")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "A DR policy (JSON, see the README): a request without targets is"
                                    + " planned from the first rule that selects its source. The"
                                    + " file must be readable on the JobManager; it is checked at"
                                    + " start (an invalid policy fails the job) and reloaded when"
                                    + " its content changes.");

    public static final ConfigOption<Duration> POLICY_RELOAD_INTERVAL =
            ConfigOptions.key("ebs.policy.reload-interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(30))
                    .withDescription(
                            "How often the policy file is read again; a changed, valid file"
                                    + " replaces the policy (each changed rule is logged), an"
                                    + " invalid one is logged and the policy in use stays.");

    public static final ConfigOption<Boolean> RETENTION_DRY_RUN =
            ConfigOptions.key("ebs.retention.dry-run")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription(
                            "Apply the policy's retention as a dry run: report each copy it would"
                                    + " delete (a DRY_RUN record on the lifecycle topic in serve, and"
                                    + " a log line), count it nowhere, delete nothing.");

    /** Every option, for documentation and the uniqueness test. */
    public static List<ConfigOption<?>> all() {
        return List.of(
                ENDPOINTS,
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                SOURCE_ROLE_ARN,
                TARGET_ROLE_ARNS,
                ROLE_EXTERNAL_ID,
                ROLE_SESSION_NAME,
                ROLE_REFRESH_AHEAD,
                ALLOWED_ROLE_ARNS,
                STS_ENDPOINT,
                CA_BUNDLE,
                ATTEMPT_TIMEOUT,
                TOTAL_TIMEOUT,
                CONTROL_ATTEMPT_TIMEOUT,
                CONTROL_TOTAL_TIMEOUT,
                RETRY_BASE_BACKOFF,
                RETRY_MAX_BACKOFF,
                NEW_SNAPSHOT_GRACE,
                GET_RATE,
                PUT_RATE,
                LIST_RATE,
                CONTROL_RATE,
                SPLITS_PER_REQUEST,
                MIN_SPLIT_BLOCKS,
                LIST_PAGE_SIZE,
                MAX_IN_FLIGHT,
                READ_ATTEMPTS,
                TARGET_TIMEOUT,
                TARGET_WATCH_INTERVAL,
                TARGET_WATCH_GRACE,
                TARGET_MAX_GENERATIONS,
                TARGET_MAX_PENDING,
                TARGET_SEAL_INTERVAL,
                TARGET_QUOTA_WAIT,
                SCHEDULING_ORDER,
                DEDUPE_RETENTION,
                COMPLETION_POLL_INTERVAL,
                COMPLETION_FIRST_POLL,
                VERIFY,
                POLICY_FILE,
                POLICY_RELOAD_INTERVAL,
                RETENTION_DRY_RUN);
    }
}
