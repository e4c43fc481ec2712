package io.ebsreplicator.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** The relaunch decision and command line of {@link Relauncher}; the run itself: RunnableJarE2E. */
class RelauncherTest {

    @TempDir Path dir;

    @Test
    void theFlagsBeforeDashJarOfThisJarArePassedOn() {
        Path jar = dir.resolve("ebs-replicator.jar");
        assertThat(
                        Relauncher.jvmFlags(
                                new String[] {
                                    "-Xmx1g", "-Dx=y", "-jar", jar.toString(), "replicate"
                                },
                                jar))
                .contains(List.of("-Xmx1g", "-Dx=y"));
        assertThat(Relauncher.jvmFlags(new String[] {"-jar", jar.toString()}, jar))
                .contains(List.of());
    }

    @Test
    void anotherJarOrAMainClassIsNotRelaunched() {
        Path jar = dir.resolve("ebs-replicator.jar");
        assertThat(Relauncher.jvmFlags(new String[] {"-jar", "other.jar", "replicate"}, jar))
                .isEmpty();
        assertThat(
                        Relauncher.jvmFlags(
                                new String[] {"-cp", jar.toString(), "Main", "replicate"}, jar))
                .isEmpty();
        assertThat(Relauncher.jvmFlags(new String[] {"-jar"}, jar)).isEmpty();
    }

    @Test
    void serveHelpNoCommandOrTheSwitchRunInThisJvm() {
        Map<String, String> env = Map.of();
        assertThat(Relauncher.plan(new String[] {}, env)).isEmpty();
        assertThat(Relauncher.plan(new String[] {"serve", "--bootstrap-servers", "b:9092"}, env))
                .isEmpty();
        assertThat(Relauncher.plan(new String[] {"help"}, env)).isEmpty();
        assertThat(
                        Relauncher.plan(
                                new String[] {"replicate"}, Map.of(Relauncher.ENABLED_ENV, "off")))
                .isEmpty();
        assertThat(Relauncher.plan(new String[] {"replicate"}, env))
                .as("the test class path is not the runnable jar")
                .isEmpty();
    }

    @Test
    void anArchiveIsNamedByCommandAndJarPathAndChangesWithTheBuild() throws Exception {
        Path jar = Files.write(dir.resolve("ebs-replicator.jar"), new byte[] {1, 2, 3});
        String name = Relauncher.archiveName(jar, "replicate", 17);
        assertThat(name)
                .startsWith(Relauncher.archivePrefix(jar, "replicate", 17))
                .startsWith("replicate-")
                .endsWith(".jsa");
        assertThat(Relauncher.archiveName(jar, "verify", 17)).startsWith("verify-");

        Files.setLastModifiedTime(jar, FileTime.fromMillis(1_000_000));
        assertThat(Relauncher.archiveName(jar, "replicate", 17))
                .as("a rebuilt jar gets a new archive, with the same prefix")
                .isNotEqualTo(name)
                .startsWith(Relauncher.archivePrefix(jar, "replicate", 17));
        assertThat(Relauncher.archivePrefix(dir.resolve("elsewhere.jar"), "replicate", 17))
                .isNotEqualTo(Relauncher.archivePrefix(jar, "replicate", 17));
        assertThat(Relauncher.archiveName(jar, "replicate", 25))
                .as("another Java keeps its own archive, an AOT cache from 25 on")
                .doesNotStartWith(Relauncher.archivePrefix(jar, "replicate", 17))
                .endsWith(".aot");
    }

    @Test
    void aNewArchiveReplacesEarlierBuildsAndUnversionedNamesOfItsJavaOnly() throws Exception {
        Path jar = Files.write(dir.resolve("ebs-replicator.jar"), new byte[] {1, 2, 3});
        Path elsewhere = Files.write(dir.resolve("elsewhere.jar"), new byte[] {1, 2, 3});
        String name17 = Relauncher.archiveName(jar, "replicate", 17);
        String jarHash = name17.split("-")[1];
        List<PathMatcher> replaced =
                Relauncher.replacedArchives(jar, "replicate", 17).stream()
                        .map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g))
                        .toList();
        Predicate<String> isReplaced = n -> replaced.stream().anyMatch(m -> m.matches(Path.of(n)));

        assertThat(isReplaced.test(name17)).as("an earlier build's archive").isTrue();
        assertThat(isReplaced.test("replicate-" + jarHash + "-0a1b2c3d.jsa"))
                .as("named before names carried the Java version")
                .isTrue();
        assertThat(isReplaced.test(Relauncher.archiveName(jar, "replicate", 21)))
                .as("another Java's archive")
                .isFalse();
        assertThat(isReplaced.test(Relauncher.archiveName(jar, "verify", 17)))
                .as("another command's archive")
                .isFalse();
        assertThat(isReplaced.test("replicate-" + jarHash + "-0a1b2c3d.jsa.4242"))
                .as("one being made by a running copy")
                .isFalse();
        assertThat(isReplaced.test(Relauncher.archiveName(elsewhere, "replicate", 17)))
                .as("another jar's archive")
                .isFalse();
    }

    @Test
    void theSecondJvmUsesTheArchiveUnlessTheUserGaveOne() {
        Path jar = dir.resolve("ebs-replicator.jar");
        Path archive = dir.resolve("replicate-1-2.jsa");
        String[] args = {"replicate", "--source-region", "us-east-1"};
        var plan = new Relauncher.Plan("java", List.of("-Xmx1g"), jar, archive, args, true, 17);

        assertThat(plan.command(null))
                .containsSubsequence(
                        "java",
                        "-Xlog:cds*=off",
                        "-XX:SharedArchiveFile=" + archive,
                        "-Xmx1g",
                        "-D" + Relauncher.CHILD_PROPERTY + "=true",
                        "-jar",
                        jar.toString(),
                        "replicate",
                        "--source-region",
                        "us-east-1");
        Path making = dir.resolve("making.jsa");
        assertThat(plan.command(making)).contains("-XX:ArchiveClassesAtExit=" + making);

        var own = new Relauncher.Plan("java", List.of("-Xshare:off"), jar, archive, args, true, 17);
        assertThat(own.command(null))
                .as("the user's own sharing flag wins")
                .noneMatch(f -> f.startsWith("-XX:SharedArchiveFile"))
                .contains("-Xshare:off");
    }

    @Test
    void theSecondJvmGetsTheShortRunJitUnlessTheUserSetsUpTheJit() {
        Path jar = dir.resolve("ebs-replicator.jar");
        Path archive = dir.resolve("replicate-1-2.jsa");
        String[] args = {"replicate"};

        List<String> tuned =
                new Relauncher.Plan("java", List.of("-Xmx1g"), jar, archive, args, true, 17)
                        .command(null);
        assertThat(tuned)
                .containsAll(Relauncher.JIT_FLAGS)
                .as("the user's flags come after ours, so that theirs win")
                .containsSubsequence(Relauncher.JIT_FLAGS.get(0), "-Xmx1g");

        for (String own :
                List.of(
                        "-XX:TieredStopAtLevel=1",
                        "-XX:Tier4InvocationThreshold=5000",
                        "-XX:-TieredCompilation",
                        "-XX:CompileThresholdScaling=0.5",
                        "-Xint")) {
            assertThat(
                            new Relauncher.Plan("java", List.of(own), jar, archive, args, true, 17)
                                    .command(null))
                    .as("with %s the JIT is the user's", own)
                    .doesNotContainAnyElementsOf(Relauncher.JIT_FLAGS)
                    .contains(own);
        }
        assertThat(
                        new Relauncher.Plan("java", List.of(), jar, archive, args, false, 17)
                                .command(null))
                .as("-D%s=default", Relauncher.JIT_PROPERTY)
                .doesNotContainAnyElementsOf(Relauncher.JIT_FLAGS);
    }

    @Test
    void onJava25TheSecondJvmMakesAndUsesAnAotCache() {
        Path jar = dir.resolve("ebs-replicator.jar");
        Path archive = dir.resolve("replicate-1-java25-2.aot");
        String[] args = {"replicate"};
        var plan = new Relauncher.Plan("java", List.of("-Xmx1g"), jar, archive, args, true, 25);

        assertThat(plan.command(null))
                .contains("-XX:AOTCache=" + archive, "-Xlog:aot*=off", Relauncher.ALLOW_UNSAFE)
                .as("the cache's own messages must not reach stdout, where the results go")
                .contains("-XX:+DisplayVMOutputToStderr")
                .doesNotContain("-Xshare:auto")
                .noneMatch(f -> f.startsWith("-XX:SharedArchiveFile"));
        Path making = dir.resolve("making.aot");
        assertThat(plan.command(making)).contains("-XX:AOTCacheOutput=" + making);
        assertThat(Relauncher.archiveSuffix(25)).isEqualTo(".aot");
        assertThat(Relauncher.archiveSuffix(21)).isEqualTo(".jsa");

        var own =
                new Relauncher.Plan(
                        "java", List.of("-XX:AOTCache=mine.aot"), jar, archive, args, true, 25);
        assertThat(own.command(null))
                .as("the user's own cache wins")
                .noneMatch(f -> f.startsWith("-XX:AOTCache=" + archive))
                .contains("-XX:AOTCache=mine.aot");
        assertThat(
                        new Relauncher.Plan("java", List.of(), jar, archive, args, true, 17)
                                .command(null))
                .as("Java 17 knows neither the cache's log tag nor the Unsafe switch")
                .doesNotContain("-Xlog:aot*=off", Relauncher.ALLOW_UNSAFE);
    }
}
