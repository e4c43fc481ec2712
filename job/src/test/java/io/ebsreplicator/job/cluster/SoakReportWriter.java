package io.ebsreplicator.job.cluster;

import javax.imageio.ImageIO;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Writes a {@link ChaosSoak.Report}: {@code soak-report.md} (checks, counts, event timeline,
 * throughput table) and {@code soak-chart.png} (blocks written per second over time, with each
 * disruption marked and its recovery shaded). Runs in the test JVM, after the soak.
 */
final class SoakReportWriter {

    private static final int WIDTH = 1200;
    private static final int HEIGHT = 480;
    private static final int MARGIN = 60;

    private SoakReportWriter() {}

    static void write(ChaosSoak.Report report, Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("soak-report.md"), markdown(report));
        ImageIO.write(chart(report), "png", dir.resolve("soak-chart.png").toFile());
    }

    static String markdown(ChaosSoak.Report report) {
        StringBuilder md = new StringBuilder();
        md.append("## Checks\n\n| check | result | detail |\n| --- | --- | --- |\n");
        for (ChaosSoak.Check c : report.checks()) {
            md.append(
                    String.format(
                            "| %s | %s | %s |%n",
                            c.name(),
                            c.passed() ? "PASS" : "**FAIL**",
                            c.detail().replace("|", "/")));
        }
        md.append("\n## Counts\n\n| what | count |\n| --- | --- |\n");
        report.counts()
                .forEach(
                        (k, v) -> md.append("| ").append(k).append(" | ").append(v).append(" |\n"));
        md.append("\n## Timeline\n\n| at (s) | event | recovered after (s) | detail |\n")
                .append("| --- | --- | --- | --- |\n");
        for (ChaosSoak.Event e : report.events()) {
            md.append(
                    String.format(
                            Locale.ROOT,
                            "| %.0f | %s | %s | %s |%n",
                            e.atSeconds(),
                            e.what(),
                            e.recoveredAfterSeconds() < 0
                                    ? "not recovered"
                                    : String.format(Locale.ROOT, "%.1f", e.recoveredAfterSeconds()),
                            e.detail().replace("|", "/")));
        }
        md.append(
                "\nRecovered = the first checkpoint the job completed after the disruption"
                        + " (triggered after it).\n");
        md.append("\n## Blocks written per second (10 s buckets)\n\n| until (s) | blocks/s |\n")
                .append("| --- | --- |\n");
        for (double[] t : report.throughput()) {
            md.append(String.format(Locale.ROOT, "| %.0f | %.1f |%n", t[0], t[1]));
        }
        return md.toString();
    }

    static BufferedImage chart(ChaosSoak.Report report) {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        double maxT = 1;
        double maxY = 1;
        for (double[] t : report.throughput()) {
            maxT = Math.max(maxT, t[0]);
            maxY = Math.max(maxY, t[1]);
        }
        for (ChaosSoak.Event e : report.events()) {
            maxT = Math.max(maxT, e.atSeconds() + Math.max(0, e.recoveredAfterSeconds()));
        }
        maxY *= 1.15;
        int x0 = MARGIN;
        int y0 = HEIGHT - MARGIN;
        int w = WIDTH - 2 * MARGIN;
        int h = HEIGHT - 2 * MARGIN;
        double sx = w / maxT;
        double sy = h / maxY;

        // Recovery windows, shaded, behind everything.
        for (ChaosSoak.Event e : report.events()) {
            double until =
                    e.recoveredAfterSeconds() < 0
                            ? maxT - e.atSeconds()
                            : e.recoveredAfterSeconds();
            g.setColor(new Color(255, 200, 200, 140));
            g.fillRect(x0 + (int) (e.atSeconds() * sx), MARGIN, Math.max(2, (int) (until * sx)), h);
        }
        g.setColor(Color.DARK_GRAY);
        g.setStroke(new BasicStroke(1));
        g.drawLine(x0, y0, x0 + w, y0);
        g.drawLine(x0, y0, x0, MARGIN);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i <= 5; i++) {
            double v = maxY * i / 5;
            int y = y0 - (int) (v * sy);
            g.drawString(String.format(Locale.ROOT, "%.0f", v), 10, y + 4);
            g.setColor(new Color(230, 230, 230));
            g.drawLine(x0 + 1, y, x0 + w, y);
            g.setColor(Color.DARK_GRAY);
        }
        for (int i = 0; i <= 10; i++) {
            double t = maxT * i / 10;
            g.drawString(
                    String.format(Locale.ROOT, "%.0f s", t), x0 + (int) (t * sx) - 12, y0 + 18);
        }
        g.drawString(
                "blocks written per second (10 s buckets) over seconds since the soak started;"
                        + " red: a disruption until the next completed checkpoint",
                x0,
                HEIGHT - 15);

        g.setColor(new Color(30, 90, 200));
        g.setStroke(new BasicStroke(2));
        double[] prev = null;
        for (double[] t : report.throughput()) {
            if (prev != null) {
                g.drawLine(
                        x0 + (int) (prev[0] * sx),
                        y0 - (int) (prev[1] * sy),
                        x0 + (int) (t[0] * sx),
                        y0 - (int) (t[1] * sy));
            }
            prev = t;
        }
        g.setStroke(new BasicStroke(1));
        int row = 0;
        for (ChaosSoak.Event e : report.events()) {
            int x = x0 + (int) (e.atSeconds() * sx);
            g.setColor(new Color(200, 30, 30));
            g.drawLine(x, MARGIN, x, y0);
            g.drawString(e.what(), x + 3, MARGIN + 12 + 13 * (row++ % 4));
        }
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        long failed = report.failed().size();
        g.drawString(
                String.format(
                        Locale.ROOT,
                        "Chaos soak: %s s, %d disruptions, %s",
                        report.counts().getOrDefault("seconds", 0L),
                        report.events().size(),
                        failed == 0 ? "all checks passed" : failed + " checks FAILED"),
                x0,
                30);
        g.dispose();
        return image;
    }
}
