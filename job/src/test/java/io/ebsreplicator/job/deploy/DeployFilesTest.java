package io.ebsreplicator.job.deploy;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.proxy.EbsOperation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.FallbackKey;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.metrics.prometheus.PrometheusReporterFactory;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * Checks the deployment files under {@code deploy/} against the code they deploy: the
 * FlinkDeployment's entry class, command and flags against the CLI, its {@code ebs.*} options
 * against {@link EbsReplicationOptions}, its Flink keys against Flink's own option classes, the
 * Dockerfile against the jar {@code job/pom.xml} builds, and the IAM policies against the EBS
 * operations the proxy makes ({@link EbsOperation}). Runs in the build only; reads files.
 */
class DeployFilesTest {

    /** Operations of {@link EbsOperation} that are EC2 actions in IAM; all others are EBS ones. */
    private static final Set<EbsOperation> EC2_OPERATIONS =
            Set.of(EbsOperation.DESCRIBE_SNAPSHOTS, EbsOperation.DELETE_SNAPSHOT);

    /** Flink's classes that declare the options a cluster configuration may set. */
    private static final List<String> FLINK_OPTION_CLASSES =
            List.of(
                    "org.apache.flink.configuration.CheckpointingOptions",
                    "org.apache.flink.configuration.StateBackendOptions",
                    "org.apache.flink.configuration.StateRecoveryOptions",
                    "org.apache.flink.configuration.StateChangelogOptions",
                    "org.apache.flink.configuration.HighAvailabilityOptions",
                    "org.apache.flink.configuration.RestartStrategyOptions",
                    "org.apache.flink.configuration.JobManagerOptions",
                    "org.apache.flink.configuration.TaskManagerOptions",
                    "org.apache.flink.configuration.CoreOptions",
                    "org.apache.flink.configuration.PipelineOptions",
                    "org.apache.flink.configuration.DeploymentOptions",
                    "org.apache.flink.configuration.ExecutionOptions",
                    "org.apache.flink.configuration.RestOptions",
                    "org.apache.flink.configuration.MetricOptions",
                    "org.apache.flink.configuration.SecurityOptions",
                    "org.apache.flink.configuration.HeartbeatManagerOptions",
                    "org.apache.flink.configuration.ClusterOptions",
                    "org.apache.flink.configuration.NettyShuffleEnvironmentOptions",
                    "org.apache.flink.configuration.WebOptions",
                    "org.apache.flink.streaming.api.environment.ExecutionCheckpointingOptions");

    private static final String REPORTERS = "metrics.reporter.";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z_]+)}");

    private final Path root = repositoryRoot();

    // ------------------------------------------------------------------ k8s

    @Test
    void everyKubernetesFileParsesIntoResources() throws IOException {
        List<Path> files = files("deploy/k8s", ".yaml", ".yml");
        assertThat(files).isNotEmpty();
        for (Path f : files) {
            List<JsonNode> docs = yamlDocuments(f);
            assertThat(docs).as(f.toString()).isNotEmpty();
            for (JsonNode d : docs) {
                assertThat(d.path("apiVersion").asText()).as(f + " apiVersion").isNotBlank();
                assertThat(d.path("kind").asText()).as(f + " kind").isNotBlank();
                assertThat(d.path("metadata").path("name").asText()).as(f + " name").isNotBlank();
            }
        }
    }

    @Test
    void flinkDeploymentRunsTheJobInApplicationModeWithSavepointUpgrades() throws IOException {
        JsonNode d = flinkDeployment();
        JsonNode spec = d.path("spec");
        assertThat(d.path("apiVersion").asText()).isEqualTo("flink.apache.org/v1beta1");
        String[] flink = pomProperty(root.resolve("pom.xml"), "flink.version").split("\\.");
        assertThat(spec.path("flinkVersion").asText()).isEqualTo("v" + flink[0] + "_" + flink[1]);
        assertThat(spec.path("job").path("upgradeMode").asText()).isEqualTo("savepoint");
        assertThat(spec.path("job").path("state").asText()).isEqualTo("running");
        assertThat(spec.path("job").path("parallelism").asInt()).isPositive();

        JsonNode account =
                resources("ServiceAccount").stream()
                        .filter(
                                a ->
                                        a.path("metadata")
                                                .path("name")
                                                .asText()
                                                .equals(spec.path("serviceAccount").asText()))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("no ServiceAccount of spec"));
        assertThat(account.path("metadata").path("namespace").asText())
                .isEqualTo(d.path("metadata").path("namespace").asText());
        assertThat(
                        account.path("metadata")
                                .path("annotations")
                                .path("eks.amazonaws.com/role-arn")
                                .asText())
                .startsWith("arn:aws:iam::");
    }

    @Test
    void entryClassIsTheJarsMainClassAndHasMain() throws Exception {
        String entryClass = flinkDeployment().path("spec").path("job").path("entryClass").asText();
        Class<?> c = Class.forName(entryClass);
        Method main = c.getMethod("main", String[].class);
        assertThat(Modifier.isStatic(main.getModifiers())).isTrue();
        assertThat(Modifier.isPublic(main.getModifiers())).isTrue();

        String pom = Files.readString(root.resolve("job/pom.xml"));
        Matcher m = Pattern.compile("<mainClass>([^<]+)</mainClass>").matcher(pom);
        Set<String> mainClasses = new TreeSet<>();
        while (m.find()) {
            mainClasses.add(m.group(1).trim());
        }
        assertThat(mainClasses).containsExactly(entryClass);
    }

    @Test
    void firstArgumentIsACommandOfTheCli() throws Exception {
        Set<String> cli = cliCommands();
        assertThat(cli).as("commands parsed from the CLI's usage").contains("replicate", "verify");
        String command = args().get(0);
        assertThat(cli).contains("serve");
        assertThat(cli).contains(command);
    }

    @Test
    void everyFlagIsOneTheCliOrServeKnows() throws Exception {
        Set<String> known = new TreeSet<>(cliFlags());
        assertThat(known)
                .as("flags read from the CLI")
                .contains("--source-endpoint", "--bootstrap-servers");

        List<String> args = args();
        for (int i = 1; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-D")) {
                assertThat(i + 1).as("-D needs key=value").isLessThan(args.size());
                assertThat(args.get(++i)).as("-D value").matches("[^=\\s]+=.*");
            } else if (a.startsWith("-")) {
                assertThat(known).as("flag of " + args.get(0)).contains(a);
            }
        }
        // The operator's spec.job.parallelism is the one place parallelism is set.
        assertThat(args).doesNotContain("--parallelism");
    }

    @Test
    void everyEbsOptionIsARealConnectorOptionWithAValidValue() throws IOException {
        Map<String, ConfigOption<?>> options = new TreeMap<>();
        for (ConfigOption<?> o : EbsReplicationOptions.all()) {
            options.put(o.key(), o);
        }
        Map<String, String> used = new LinkedHashMap<>(dynamicArgs());
        flinkConfiguration().forEach((k, v) -> used.put(k, v));
        used.keySet().removeIf(k -> !k.startsWith("ebs."));
        assertThat(used).isNotEmpty();
        assertThat(options.keySet()).containsAll(used.keySet());

        Configuration c = Configuration.fromMap(used);
        for (String key : used.keySet()) {
            assertThatCode(() -> c.get(options.get(key))).as(key).doesNotThrowAnyException();
        }
    }

    @Test
    void everyFlinkKeyIsACurrentFlinkOptionWithAValidValue() throws Exception {
        Map<String, ConfigOption<?>> current = new TreeMap<>();
        Set<String> fallback = new TreeSet<>();
        for (ConfigOption<?> o : flinkOptions()) {
            current.putIfAbsent(o.key(), o);
            for (FallbackKey k : o.fallbackKeys()) {
                fallback.add(k.getKey());
            }
        }
        assertThat(current).containsKeys("execution.checkpointing.dir", "restart-strategy.type");

        Map<String, String> conf = flinkConfiguration();
        conf.keySet().removeIf(k -> k.startsWith("ebs."));
        // A named reporter's keys are templates (metrics.reporter.<name>.*): checked below.
        conf.keySet().removeIf(k -> k.startsWith(REPORTERS));
        assertThat(conf).isNotEmpty();
        for (String key : conf.keySet()) {
            assertThat(current.keySet())
                    .as(
                            fallback.contains(key)
                                    ? key + " is a deprecated or fallback key"
                                    : key + " is not a Flink option")
                    .contains(key);
        }
        Configuration c = Configuration.fromMap(conf);
        for (String key : conf.keySet()) {
            assertThatCode(() -> c.get(current.get(key))).as(key).doesNotThrowAnyException();
        }
        assertThat(conf.get("restart-strategy.type")).isEqualTo("exponential-delay");
        assertThat(conf.get("high-availability.type")).isEqualTo("kubernetes");
    }

    @Test
    void everyPodServesPrometheusMetricsOnTheNamedPort() throws Exception {
        Map<String, String> conf = flinkConfiguration();
        String prefix = REPORTERS + "prom.";
        String portKey = prefix + staticField(PrometheusReporterFactory.class, "ARG_PORT");
        String factoryKey = prefix + MetricOptions.REPORTER_FACTORY_CLASS.key();
        assertThat(conf.keySet().stream().filter(k -> k.startsWith(REPORTERS)))
                .as("reporter keys")
                .containsExactlyInAnyOrder(factoryKey, portKey);
        Class<?> factory = Class.forName(conf.get(factoryKey));
        assertThat(factory).isEqualTo(PrometheusReporterFactory.class);
        assertThat(MetricReporterFactory.class).isAssignableFrom(factory);
        String port = conf.get(portKey);
        assertThat(port).as("one port: each pod is its own host").matches("[0-9]+");

        JsonNode template = flinkDeployment().path("spec").path("podTemplate");
        assertThat(
                        template.path("metadata")
                                .path("annotations")
                                .path("prometheus.io/port")
                                .asText())
                .isEqualTo(port);
        JsonNode metricsPort = null;
        for (JsonNode c : template.path("spec").path("containers")) {
            if (c.path("name").asText().equals("flink-main-container")) {
                for (JsonNode p : c.path("ports")) {
                    if (p.path("name").asText().equals("metrics")) {
                        metricsPort = p;
                    }
                }
            }
        }
        assertThat(metricsPort).as("port 'metrics' of flink-main-container").isNotNull();
        assertThat(metricsPort.path("containerPort").asText()).isEqualTo(port);

        JsonNode monitor =
                resources("PodMonitor").stream()
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("no PodMonitor"));
        assertThat(monitor.path("spec").path("podMetricsEndpoints").get(0).path("port").asText())
                .isEqualTo("metrics");
        monitor.path("spec")
                .path("selector")
                .path("matchLabels")
                .fields()
                .forEachRemaining(
                        l ->
                                assertThat(
                                                template.path("metadata")
                                                        .path("labels")
                                                        .path(l.getKey())
                                                        .asText())
                                        .as("pod label %s", l.getKey())
                                        .isEqualTo(l.getValue().asText()));

        assertThat(Files.readString(root.resolve("deploy/local/flink-cluster.sh")))
                .as("the local cluster uses the same reporter")
                .contains("factory.class: " + factory.getName());
        assertThat(String.join("\n", dockerInstructions(root.resolve("deploy/docker/Dockerfile"))))
                .as("the image's reporter plugin is checked at build time")
                .contains("/opt/flink/plugins/metrics-prometheus/");
    }

    // ------------------------------------------------------------------ docker

    @Test
    void dockerfileCopiesTheClusterJarToTheJarUri() throws IOException {
        List<String> lines = dockerInstructions(root.resolve("deploy/docker/Dockerfile"));
        String flinkVersion = pomProperty(root.resolve("pom.xml"), "flink.version");
        assertThat(lines).first().isEqualTo("FROM flink:" + flinkVersion + "-java17");

        String pom = Files.readString(root.resolve("job/pom.xml"));
        Matcher m =
                Pattern.compile(
                                "<id>cluster-job-jar</id>.*?<outputFile>\\$\\{project\\.build\\.directory}/([^<]+)</outputFile>",
                                Pattern.DOTALL)
                        .matcher(pom);
        assertThat(m.find()).as("cluster-job-jar outputFile in job/pom.xml").isTrue();
        String jar = "job/target/" + m.group(1);

        List<String[]> copies =
                lines.stream()
                        .filter(l -> l.startsWith("COPY "))
                        .map(
                                l ->
                                        Stream.of(l.substring(5).trim().split("\\s+"))
                                                .filter(t -> !t.startsWith("--"))
                                                .toArray(String[]::new))
                        .collect(Collectors.toList());
        assertThat(copies).hasSize(1);
        assertThat(copies.get(0)).hasSize(2);
        assertThat(copies.get(0)[0]).isEqualTo(jar);

        String jarUri = flinkDeployment().path("spec").path("job").path("jarURI").asText();
        assertThat(jarUri).startsWith("local://");
        assertThat(copies.get(0)[1]).isEqualTo(jarUri.substring("local://".length()));

        assertThat(lines).last().isEqualTo("USER flink");
        if (flinkConfiguration().values().stream().anyMatch(v -> v.startsWith("s3://"))) {
            assertThat(String.join("\n", lines))
                    .as("s3:// paths need an S3 filesystem plugin")
                    .containsPattern("cp /opt/flink/opt/flink-s3-fs-(presto|hadoop)-\\S* ")
                    .contains("/opt/flink/plugins/s3-fs-");
        }
        assertThat(Files.readString(root.resolve("deploy/docker/Dockerfile.dockerignore")))
                .contains("!" + jar);
    }

    // ------------------------------------------------------------------ iam

    @Test
    void iamPoliciesAreValidAndGrantExactlyTheEbsOperationsTheProxyCalls() throws IOException {
        List<Path> files = files("deploy/iam", ".json");
        assertThat(files)
                .extracting(f -> f.getFileName().toString())
                .contains("source-policy.json", "target-policy.json", "trust-policy-irsa.json");

        Set<String> actions = new TreeSet<>();
        for (Path f : files) {
            JsonNode policy = JSON.readTree(f.toFile());
            assertThat(policy.path("Version").asText()).as(f.toString()).isEqualTo("2012-10-17");
            JsonNode statements = policy.path("Statement");
            assertThat(statements.isArray() && statements.size() > 0).as(f.toString()).isTrue();
            Set<String> sids = new TreeSet<>();
            for (JsonNode s : statements) {
                String where = f.getFileName() + " " + s.path("Sid").asText();
                assertThat(sids.add(s.path("Sid").asText())).as(where + " unique Sid").isTrue();
                assertThat(s.path("Effect").asText()).as(where).isEqualTo("Allow");
                assertThat(s.has("NotAction")).as(where + " NotAction").isFalse();
                List<String> a = strings(s.path("Action"));
                assertThat(a).as(where + " actions").isNotEmpty().allMatch(x -> !x.contains("*"));
                actions.addAll(a);
            }
        }

        Set<String> expectedEbs = new TreeSet<>();
        for (EbsOperation op : EbsOperation.values()) {
            if (EC2_OPERATIONS.contains(op)) {
                assertThat(actions).contains("ec2:" + op.apiName());
            } else {
                expectedEbs.add("ebs:" + op.apiName());
            }
        }
        Set<String> grantedEbs =
                actions.stream().filter(a -> a.startsWith("ebs:")).collect(Collectors.toSet());
        assertThat(grantedEbs).containsExactlyInAnyOrderElementsOf(expectedEbs);
    }

    @Test
    void everyPlaceholderIsExplainedInItsReadme() throws IOException {
        assertPlaceholdersDocumented("deploy/iam", ".json");
        assertPlaceholdersDocumented("deploy/k8s", ".yaml");
    }

    // ------------------------------------------------------------------ helpers

    private void assertPlaceholdersDocumented(String dir, String suffix) throws IOException {
        String readme = Files.readString(root.resolve(dir).resolve("README.md"));
        for (Path f : files(dir, suffix)) {
            Matcher m = PLACEHOLDER.matcher(Files.readString(f));
            while (m.find()) {
                assertThat(readme).as(f + " placeholder").contains(m.group());
            }
        }
    }

    private static Path repositoryRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("deploy/k8s"))) {
            p = p.getParent();
        }
        assertThat(p).as("a parent directory with deploy/k8s").isNotNull();
        return p;
    }

    private List<Path> files(String dir, String... suffixes) throws IOException {
        try (Stream<Path> s = Files.walk(root.resolve(dir))) {
            return s.filter(Files::isRegularFile)
                    .filter(f -> Stream.of(suffixes).anyMatch(f.toString()::endsWith))
                    .sorted()
                    .collect(Collectors.toList());
        }
    }

    private static List<JsonNode> yamlDocuments(Path f) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(f.toFile())) {
            while (it.hasNext()) {
                JsonNode d = it.next();
                if (d != null && !d.isNull() && !d.isMissingNode()) {
                    docs.add(d);
                }
            }
        }
        return docs;
    }

    private List<JsonNode> resources(String kind) throws IOException {
        List<JsonNode> found = new ArrayList<>();
        for (Path f : files("deploy/k8s", ".yaml", ".yml")) {
            for (JsonNode d : yamlDocuments(f)) {
                if (d.path("kind").asText().equals(kind)) {
                    found.add(d);
                }
            }
        }
        return found;
    }

    private JsonNode flinkDeployment() throws IOException {
        List<JsonNode> found = resources("FlinkDeployment");
        assertThat(found).hasSize(1);
        return found.get(0);
    }

    private List<String> args() throws IOException {
        List<String> args = strings(flinkDeployment().path("spec").path("job").path("args"));
        assertThat(args).isNotEmpty();
        return args;
    }

    /** The {@code -D key=value} pairs of the job arguments. */
    private Map<String, String> dynamicArgs() throws IOException {
        Map<String, String> pairs = new LinkedHashMap<>();
        List<String> args = args();
        for (int i = 0; i < args.size(); i++) {
            String kv = null;
            if (args.get(i).equals("-D") && i + 1 < args.size()) {
                kv = args.get(++i);
            } else if (args.get(i).startsWith("-D") && args.get(i).length() > 2) {
                kv = args.get(i).substring(2);
            }
            if (kv != null) {
                int eq = kv.indexOf('=');
                pairs.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return pairs;
    }

    private Map<String, String> flinkConfiguration() throws IOException {
        Map<String, String> conf = new LinkedHashMap<>();
        flinkDeployment()
                .path("spec")
                .path("flinkConfiguration")
                .fields()
                .forEachRemaining(e -> conf.put(e.getKey(), e.getValue().asText()));
        return conf;
    }

    private static List<String> strings(JsonNode node) {
        List<String> values = new ArrayList<>();
        if (node.isTextual()) {
            values.add(node.asText());
        } else if (node.isArray()) {
            node.forEach(n -> values.add(n.asText()));
        }
        return values;
    }

    /** The commands the CLI lists under "Commands:" in its usage text. */
    private static Set<String> cliCommands() throws Exception {
        String usage = (String) staticField(cliClass("EbsReplicatorCli"), "USAGE");
        Set<String> commands = new TreeSet<>();
        boolean inCommands = false;
        for (String line : usage.split("\n")) {
            if (line.startsWith("Commands:")) {
                inCommands = true;
            } else if (inCommands) {
                Matcher m = Pattern.compile("^ {2}([a-z][a-z-]*) {2,}\\S").matcher(line);
                if (!m.find()) {
                    break;
                }
                commands.add(m.group(1));
            }
        }
        return commands;
    }

    /**
     * Every flag some command accepts: the {@code WITH_VALUE} and {@code SWITCHES} sets of each
     * {@code <Name>Command} class of the CLI's commands.
     */
    private static Set<String> cliFlags() throws Exception {
        Set<String> flags = new TreeSet<>();
        Set<String> commands = new TreeSet<>(cliCommands());
        for (String command : commands) {
            Class<?> c;
            try {
                c =
                        cliClass(
                                Character.toUpperCase(command.charAt(0))
                                        + command.substring(1)
                                        + "Command");
            } catch (ClassNotFoundException e) {
                continue; // help has no class
            }
            for (String name : List.of("WITH_VALUE", "SWITCHES")) {
                try {
                    for (Object f : (Set<?>) staticField(c, name)) {
                        flags.add((String) f);
                    }
                } catch (NoSuchFieldException e) {
                    // a command without switches
                }
            }
        }
        return flags;
    }

    private static Class<?> cliClass(String simpleName) throws ClassNotFoundException {
        return Class.forName("io.ebsreplicator.job." + simpleName);
    }

    private static Object staticField(Class<?> c, String name) throws Exception {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(null);
    }

    private static List<ConfigOption<?>> flinkOptions() throws IllegalAccessException {
        List<ConfigOption<?>> options = new ArrayList<>();
        for (String name : FLINK_OPTION_CLASSES) {
            Class<?> c;
            try {
                c = Class.forName(name);
            } catch (ClassNotFoundException e) {
                continue; // moved or removed in this Flink version
            }
            for (Field f : c.getFields()) {
                if (Modifier.isStatic(f.getModifiers())
                        && ConfigOption.class.isAssignableFrom(f.getType())) {
                    options.add((ConfigOption<?>) f.get(null));
                }
            }
        }
        return options;
    }

    private static String pomProperty(Path pom, String name) throws IOException {
        Matcher m =
                Pattern.compile(
                                "<"
                                        + Pattern.quote(name)
                                        + ">([^<]+)</"
                                        + Pattern.quote(name)
                                        + ">")
                        .matcher(Files.readString(pom));
        assertThat(m.find()).as(name + " in " + pom).isTrue();
        return m.group(1).trim();
    }

    /** The Dockerfile's instructions: comments dropped, continuation lines joined. */
    private static List<String> dockerInstructions(Path dockerfile) throws IOException {
        List<String> instructions = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String raw : Files.readAllLines(dockerfile)) {
            String line = raw.strip();
            if (line.startsWith("#") || (line.isEmpty() && current.length() == 0)) {
                continue;
            }
            boolean continues = line.endsWith("\\");
            current.append(continues ? line.substring(0, line.length() - 1) : line).append(' ');
            if (!continues) {
                instructions.add(current.toString().strip().replaceAll("\\s+", " "));
                current.setLength(0);
            }
        }
        return instructions;
    }
}
