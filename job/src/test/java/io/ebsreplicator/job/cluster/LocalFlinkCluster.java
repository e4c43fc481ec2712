package io.ebsreplicator.job.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real Flink session cluster (one JobManager, or with {@link #withZooKeeperHa} a leader and
 * standbys; TaskManagers in their own JVMs) driven through the scripts of {@code deploy/local}:
 * {@code flink-cluster.sh start|add-taskmanager|leader|stop|cli} and {@code submit.sh}, so the
 * tests prove the scripts as an operator runs them. Runs in the test JVM; reads the pid files the
 * script writes to kill single processes with SIGKILL, the REST API for jobs, vertices and metrics,
 * and each process's Prometheus endpoint.
 *
 * <p>Nothing outlives the test JVM's orderly exit: {@link #close()} stops the cluster and kills
 * every client it started, and a shutdown hook kills whatever the pid files still name.
 */
final class LocalFlinkCluster implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern JOB_ID = Pattern.compile("JobID ([0-9a-f]{32})");
    private static final Pattern SAVEPOINT = Pattern.compile("Savepoint completed\\. Path: (\\S+)");
    private static final Pattern PROMETHEUS_PORT =
            Pattern.compile("Started PrometheusReporter HTTP server on port (\\d+)");

    /** JobManagers a cluster may have: consecutive REST and RPC ports are kept free for them. */
    private static final int MAX_JOBMANAGERS = 3;

    /** Ports the Prometheus reporters of one cluster pick from (the first free one each). */
    private static final int PROMETHEUS_PORTS = 16;

    private final Path repo;
    private final Path dir;
    private final Path jobJar;
    private final int taskManagers;
    private final int restPort;
    private final int rpcPort;
    private final int prometheusPort;
    private String haQuorum;
    private int jobManagers = 1;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Process> clients = new CopyOnWriteArrayList<>();
    private final Thread hook = new Thread(this::killEverything, "local-flink-cluster-cleanup");
    private int submissions;

    LocalFlinkCluster(Path repo, Path dir, Path jobJar, int taskManagers) {
        this.repo = repo;
        this.dir = dir;
        this.jobJar = jobJar;
        this.taskManagers = taskManagers;
        this.restPort = DeployScripts.freePorts(MAX_JOBMANAGERS);
        this.rpcPort = DeployScripts.freePorts(MAX_JOBMANAGERS);
        this.prometheusPort = DeployScripts.freePorts(PROMETHEUS_PORTS);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * JobManager high availability through the ZooKeeper at {@code quorum}, with {@code count}
     * JobManagers ({@code jobmanager-1}, ...): one leads, the others stand by. Before {@link
     * #start()}.
     */
    LocalFlinkCluster withZooKeeperHa(String quorum, int count) {
        if (count < 1 || count > MAX_JOBMANAGERS) {
            throw new IllegalArgumentException("1 to " + MAX_JOBMANAGERS + " JobManagers");
        }
        this.haQuorum = quorum;
        this.jobManagers = count;
        return this;
    }

    /** The JobManagers' names, as the script and its pid files name them. */
    List<String> jobManagerNames() {
        if (haQuorum == null) {
            return List.of("jobmanager");
        }
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= jobManagers; i++) {
            names.add("jobmanager-" + i);
        }
        return names;
    }

    /**
     * {@code flink-cluster.sh leader}: the leading JobManager's name; empty while none leads (an
     * election is under way).
     */
    Optional<String> leader() {
        String out =
                DeployScripts.runAllowingFailure(
                                repo,
                                env(),
                                dir,
                                Duration.ofSeconds(30),
                                "flink-cluster.sh",
                                "leader")
                        .trim();
        return out.startsWith("jobmanager") ? Optional.of(out) : Optional.empty();
    }

    /**
     * The Prometheus endpoint port of every running process of the cluster, by name, as each
     * reporter logged it when it started.
     */
    Map<String, Integer> prometheusPorts() {
        Map<String, Integer> ports = new TreeMap<>();
        try (Stream<Path> logs = Files.list(dir.resolve("log"))) {
            for (Path log : logs.filter(f -> f.toString().endsWith(".log")).toList()) {
                String name = log.getFileName().toString().replaceFirst("\\.log$", "");
                if (pid(name)
                        .flatMap(ProcessHandle::of)
                        .map(ProcessHandle::isAlive)
                        .orElse(false)) {
                    Matcher m = PROMETHEUS_PORT.matcher(Files.readString(log));
                    if (m.find()) {
                        ports.put(name, Integer.parseInt(m.group(1)));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return ports;
    }

    /** GET of a process's Prometheus endpoint: the text exposition, or null when it is down. */
    String scrape(int port) {
        try {
            HttpResponse<String> r =
                    http.send(
                            HttpRequest.newBuilder(
                                            URI.create("http://127.0.0.1:" + port + "/metrics"))
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    Path dir() {
        return dir;
    }

    Path checkpoints() {
        return dir.resolve("checkpoints");
    }

    Path savepoints() {
        return dir.resolve("savepoints");
    }

    /** {@code flink-cluster.sh start}: starts whatever of the JobManager and TMs 1..N is down. */
    String start() {
        return script(Duration.ofMinutes(3), "flink-cluster.sh", "start");
    }

    /** {@code flink-cluster.sh add-taskmanager}: one more TaskManager, registered on return. */
    String addTaskManager() {
        return script(Duration.ofMinutes(2), "flink-cluster.sh", "add-taskmanager");
    }

    /** {@code flink-cluster.sh start-jobmanagers}: the JobManagers that are down, as standbys. */
    String startJobManagers() {
        return script(Duration.ofMinutes(2), "flink-cluster.sh", "start-jobmanagers");
    }

    String status() {
        return script(Duration.ofSeconds(30), "flink-cluster.sh", "status");
    }

    /** SIGKILL to one process of the cluster ({@code jobmanager}, {@code taskmanager-2}, ...). */
    void kill(String name) {
        long pid = pid(name).orElseThrow(() -> new IllegalStateException(name + " has no pid"));
        ProcessHandle p =
                ProcessHandle.of(pid)
                        .orElseThrow(() -> new IllegalStateException(name + " is not running"));
        p.destroyForcibly();
        try {
            p.onExit().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(name + " (pid " + pid + ") did not die", e);
        }
    }

    /**
     * SIGTERM to one process of the cluster, waiting until it has exited: a TaskManager stopped
     * this way deregisters from the ResourceManager at once, unlike one killed.
     */
    void stop(String name) {
        long pid = pid(name).orElseThrow(() -> new IllegalStateException(name + " has no pid"));
        ProcessHandle.of(pid)
                .ifPresent(
                        p -> {
                            p.destroy();
                            try {
                                p.onExit().get(60, TimeUnit.SECONDS);
                            } catch (Exception e) {
                                throw new IllegalStateException(
                                        name + " (pid " + pid + ") did not stop", e);
                            }
                        });
    }

    /** The resource ids of the TaskManagers registered with the ResourceManager. */
    Set<String> registeredTaskManagers() {
        Set<String> out = new TreeSet<>();
        JsonNode tms = rest("/taskmanagers");
        if (tms != null) {
            for (JsonNode tm : tms.path("taskmanagers")) {
                out.add(tm.path("id").asText());
            }
        }
        return out;
    }

    /**
     * The pid of the process {@code name} while it runs; empty once it has gone. A pid file
     * outlives a kill -9 and its pid may since belong to another process (an hour of kills on a
     * busy machine wraps the pids), even another JobManager or TaskManager of this cluster: only
     * the process of that name logs to its log file, so that is what the command line must show.
     */
    Optional<Long> pid(String name) {
        Path f = dir.resolve("pids").resolve(name + ".pid");
        long pid;
        try {
            if (!Files.exists(f)) {
                return Optional.empty();
            }
            pid = Long.parseLong(Files.readString(f).trim());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // The whole path, as flink-cluster.sh writes it ($FLINK_DIR/log/<name>.log): another
        // cluster on this machine has processes of the same names.
        String own = "-Dlog.file=" + dir + "/log/" + name + ".log";
        return ProcessHandle.of(pid)
                .filter(ProcessHandle::isAlive)
                .filter(
                        p ->
                                p.info().arguments().stream()
                                        .flatMap(Stream::of)
                                        .anyMatch(own::equals))
                .map(ProcessHandle::pid);
    }

    /** The TaskManagers that run, by name: taskmanager-1, -2, and every one added since. */
    List<String> runningTaskManagers() {
        List<String> out = new ArrayList<>();
        try (Stream<Path> pids = Files.list(dir.resolve("pids"))) {
            pids.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("taskmanager-") && n.endsWith(".pid"))
                    .map(n -> n.substring(0, n.length() - ".pid".length()))
                    .filter(n -> pid(n).isPresent())
                    .sorted()
                    .forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * {@code submit.sh [submitOptions...] jobArgs...} in the background (attached: the client
     * collects the job's results and prints them). Its output goes to files in the cluster dir.
     */
    Submission submit(List<String> submitOptions, List<String> jobArgs) {
        List<String> command = new ArrayList<>();
        command.add("bash");
        command.add(repo.resolve("deploy/local/submit.sh").toString());
        command.addAll(submitOptions);
        command.addAll(jobArgs);
        int n = ++submissions;
        Path out = dir.resolve("log/submit-" + n + ".out");
        Path err = dir.resolve("log/submit-" + n + ".err");
        ProcessBuilder pb =
                new ProcessBuilder(command)
                        .directory(repo.toFile())
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile());
        pb.environment().putAll(env());
        try {
            Process p = pb.start();
            clients.add(p);
            return new Submission(p, out, err);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code flink-cluster.sh cli stop --savepointPath DIR JOBID}: stop-with-savepoint; returns the
     * savepoint's path.
     */
    String stopWithSavepoint(String jobId) {
        String out =
                script(
                        Duration.ofMinutes(2),
                        "flink-cluster.sh",
                        "cli",
                        "stop",
                        "--savepointPath",
                        savepoints().toUri().toString(),
                        jobId);
        Matcher m = SAVEPOINT.matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("No savepoint path in:\n" + out);
        }
        return m.group(1);
    }

    /** {@code flink-cluster.sh cli cancel JOBID}: cancels a job; returns the command's output. */
    String cancel(String jobId) {
        return script(Duration.ofMinutes(1), "flink-cluster.sh", "cli", "cancel", jobId);
    }

    /** The newest retained checkpoint of a job (a {@code chk-N} directory with its metadata). */
    Optional<Path> latestCheckpoint(String jobId) {
        Path jobDir = checkpoints().resolve(jobId);
        if (!Files.isDirectory(jobDir)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(jobDir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("chk-"))
                    .filter(p -> Files.exists(p.resolve("_metadata")))
                    .max(
                            Comparator.comparingLong(
                                    p -> Long.parseLong(p.getFileName().toString().substring(4))));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * GET on the REST API of the first JobManager that answers it (any JobManager serves the
     * leader's answers); null when none does (the JobManagers are down, or electing a leader).
     */
    JsonNode rest(String path) {
        for (int i = 0; i < jobManagers; i++) {
            JsonNode answer = rest(restPort + i, path);
            if (answer != null) {
                return answer;
            }
        }
        return null;
    }

    private JsonNode rest(int port, String path) {
        try {
            HttpResponse<String> r =
                    http.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The id of the job vertex whose name contains {@code part}. */
    String vertexId(String jobId, String part) {
        JsonNode job = rest("/jobs/" + jobId);
        if (job != null) {
            for (JsonNode v : job.path("vertices")) {
                if (v.path("name").asText().contains(part)) {
                    return v.path("id").asText();
                }
            }
        }
        throw new IllegalStateException("No vertex named like '" + part + "' in " + job);
    }

    /** The TaskManager (its resource id, e.g. taskmanager-1) running a vertex's subtask. */
    String taskManagerOf(String jobId, String vertexId, int subtask) {
        JsonNode v = rest("/jobs/" + jobId + "/vertices/" + vertexId);
        if (v != null) {
            for (JsonNode s : v.path("subtasks")) {
                if (s.path("subtask").asInt() == subtask) {
                    return s.path("taskmanager-id").asText();
                }
            }
        }
        throw new IllegalStateException("No subtask " + subtask + " in " + v);
    }

    /**
     * The TaskManagers (their resource ids) running any subtask of a job; empty while the
     * JobManager does not answer.
     */
    Set<String> taskManagersOf(String jobId) {
        Set<String> out = new TreeSet<>();
        JsonNode job = rest("/jobs/" + jobId);
        if (job != null) {
            for (JsonNode v : job.path("vertices")) {
                JsonNode detail = rest("/jobs/" + jobId + "/vertices/" + v.path("id").asText());
                if (detail != null) {
                    for (JsonNode s : detail.path("subtasks")) {
                        if (s.path("status").asText().equals("RUNNING")) {
                            out.add(s.path("taskmanager-id").asText());
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * A metric of a vertex summed over its subtasks, by the end of its name (for instance {@code
     * ebs.blocksCopied}); -1 when the vertex does not report it (yet).
     */
    long metricSum(String jobId, String vertexId, String suffix) {
        String base = "/jobs/" + jobId + "/vertices/" + vertexId + "/subtasks/metrics";
        JsonNode names = rest(base);
        if (names == null) {
            return -1;
        }
        for (JsonNode n : names) {
            String id = n.path("id").asText();
            if (id.endsWith("." + suffix)) {
                JsonNode values = rest(base + "?get=" + id + "&agg=sum");
                if (values != null && values.size() == 1) {
                    return (long) values.get(0).path("sum").asDouble();
                }
            }
        }
        return -1;
    }

    /**
     * A metric of one subtask through the vertex form of the API ({@code
     * /jobs/J/vertices/V/metrics?get=0.<operator>.ebs.blocksCopied}); -1 when not reported (yet).
     */
    long subtaskMetric(String jobId, String vertexId, int subtask, String suffix) {
        String base = "/jobs/" + jobId + "/vertices/" + vertexId + "/metrics";
        JsonNode names = rest(base);
        if (names == null) {
            return -1;
        }
        for (JsonNode n : names) {
            String id = n.path("id").asText();
            if (id.startsWith(subtask + ".") && id.endsWith("." + suffix)) {
                JsonNode values = rest(base + "?get=" + id);
                if (values != null && values.size() == 1) {
                    return Long.parseLong(values.get(0).path("value").asText());
                }
            }
        }
        return -1;
    }

    /** The state of a job, or null when the JobManager does not know it. */
    String jobState(String jobId) {
        JsonNode job = rest("/jobs/" + jobId);
        return job == null ? null : job.path("state").asText();
    }

    /**
     * Every live process on this machine whose command line names the cluster's directory: the
     * JobManager, the TaskManagers and the command-line clients (their log and config paths are in
     * it), whether or not a pid file still names them.
     */
    List<ProcessHandle> processes() {
        String path = dir.toString();
        long self = ProcessHandle.current().pid();
        return ProcessHandle.allProcesses()
                .filter(p -> p.pid() != self && p.isAlive())
                .filter(p -> p.info().commandLine().orElse("").contains(path))
                .toList();
    }

    @Override
    public void close() {
        for (Process p : clients) {
            p.destroyForcibly();
        }
        try {
            script(Duration.ofMinutes(2), "flink-cluster.sh", "stop");
        } catch (RuntimeException e) {
            System.err.println("flink-cluster.sh stop failed: " + e.getMessage());
        }
        killEverything();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook runs anyway.
        }
    }

    /** SIGKILL to every process a pid file names and every client: the last line of defence. */
    private void killEverything() {
        for (Process p : clients) {
            p.destroyForcibly();
        }
        Path pids = dir.resolve("pids");
        if (!Files.isDirectory(pids)) {
            return;
        }
        try (Stream<Path> s = Files.list(pids)) {
            s.forEach(
                    f -> {
                        try {
                            long pid = Long.parseLong(Files.readString(f).trim());
                            ProcessHandle.of(pid)
                                    .filter(
                                            h ->
                                                    h.info()
                                                            .commandLine()
                                                            .orElse("")
                                                            .contains("org.apache.flink"))
                                    .ifPresent(ProcessHandle::destroyForcibly);
                        } catch (IOException | NumberFormatException e) {
                            // A torn pid file: nothing to kill by it.
                        }
                    });
        } catch (IOException e) {
            // Nothing more to do on the way out.
        }
    }

    private Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put("FLINK_DIR", dir.toString());
        env.put("FLINK_TASKMANAGERS", Integer.toString(taskManagers));
        env.put("FLINK_SLOTS", "1");
        env.put("FLINK_REST_PORT", Integer.toString(restPort));
        env.put("FLINK_RPC_PORT", Integer.toString(rpcPort));
        env.put("FLINK_HEARTBEAT_TIMEOUT", "6000");
        env.put(
                "FLINK_PROMETHEUS_PORTS",
                prometheusPort + "-" + (prometheusPort + PROMETHEUS_PORTS - 1));
        if (haQuorum != null) {
            env.put("FLINK_HA", "zookeeper");
            env.put("FLINK_HA_QUORUM", haQuorum);
            env.put("FLINK_JOBMANAGERS", Integer.toString(jobManagers));
        }
        env.put("JOB_JAR", jobJar.toString());
        return env;
    }

    /** Runs a script of deploy/local to its end; its output, or an exception carrying it. */
    private String script(Duration timeout, String name, String... args) {
        return DeployScripts.run(repo, env(), dir, timeout, name, args);
    }

    /** One {@code submit.sh} client process: its job id and the result lines it prints. */
    static final class Submission {
        private final Process process;
        private final Path out;
        private final Path err;

        Submission(Process process, Path out, Path err) {
            this.process = process;
            this.out = out;
            this.err = err;
        }

        /** Waits until the client says which job it submitted. */
        String awaitJobId(Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                Matcher m = JOB_ID.matcher(Files.readString(out));
                if (m.find()) {
                    return m.group(1);
                }
                if (!process.isAlive()) {
                    throw new IllegalStateException("The client exited first:\n" + output());
                }
                Thread.sleep(200);
            }
            throw new IllegalStateException("No job id after " + timeout + ":\n" + output());
        }

        /** Waits for the client to exit; its exit code. */
        int awaitExit(Duration timeout) throws Exception {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(
                        "The client did not finish in " + timeout + ":\n" + output());
            }
            return process.exitValue();
        }

        /** The result objects (JSON lines) the client printed. */
        List<JsonNode> results() throws IOException {
            List<JsonNode> r = new ArrayList<>();
            for (String line : Files.readAllLines(out)) {
                if (line.startsWith("{")) {
                    r.add(JSON.readTree(line));
                }
            }
            return r;
        }

        void kill() {
            process.destroyForcibly();
        }

        String output() throws IOException {
            return "--- stdout\n" + Files.readString(out) + "--- stderr\n" + tail(err, 60);
        }

        private static String tail(Path f, int lines) throws IOException {
            List<String> all = Files.readAllLines(f);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        }
    }
}
