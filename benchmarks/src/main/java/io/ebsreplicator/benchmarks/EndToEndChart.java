package io.ebsreplicator.benchmarks;

import io.ebsreplicator.benchmarks.EndToEndBenchmark.Result;

import javax.imageio.ImageIO;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The chart of {@link EndToEndBenchmark}: throughput per system and latency, as a PNG. */
final class EndToEndChart {

    private EndToEndChart() {}

    /** Throughput against latency, one line per system. */
    static void chart(List<Result> results, Path png) throws Exception {
        int w = 800;
        int h = 480;
        int left = 70;
        int right = 150;
        int top = 40;
        int bottom = 60;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        List<Long> latencies = results.stream().map(Result::latencyMs).distinct().sorted().toList();
        double max = results.stream().mapToDouble(Result::mibPerSecond).max().orElse(1) * 1.1;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString("ebs-replicator: throughput against round-trip latency", left, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawLine(left, h - bottom, w - right, h - bottom);
        g.drawLine(left, top, left, h - bottom);
        for (int i = 0; i <= 5; i++) {
            double v = max * i / 5;
            int y = (int) (h - bottom - (h - top - bottom) * i / 5.0);
            g.setColor(new Color(230, 230, 230));
            g.drawLine(left + 1, y, w - right, y);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.0f", v), 20, y + 4);
        }
        g.drawString("MiB/s", 20, top - 8);
        for (int i = 0; i < latencies.size(); i++) {
            int x = x(i, latencies.size(), left, w - right);
            g.drawString(latencies.get(i) + " ms", x - 14, h - bottom + 20);
        }
        g.drawString("injected round-trip latency", left + (w - left - right) / 2 - 70, h - 15);
        Color[] colors = {new Color(0, 114, 178), new Color(213, 94, 0), new Color(0, 158, 115)};
        List<String> systems = results.stream().map(Result::system).distinct().toList();
        for (int s = 0; s < systems.size(); s++) {
            g.setColor(colors[s % colors.length]);
            g.setStroke(new BasicStroke(2.5f));
            int px = -1;
            int py = -1;
            for (int i = 0; i < latencies.size(); i++) {
                Result r = EndToEndReport.median(results, systems.get(s), latencies.get(i));
                if (r == null) {
                    continue;
                }
                int x = x(i, latencies.size(), left, w - right);
                int y = (int) (h - bottom - (h - top - bottom) * r.mibPerSecond() / max);
                g.fillOval(x - 4, y - 4, 8, 8);
                if (px >= 0) {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
            g.drawLine(w - right + 15, top + 20 + 22 * s, w - right + 40, top + 20 + 22 * s);
            g.drawString(systems.get(s), w - right + 48, top + 24 + 22 * s);
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    static int x(int i, int n, int from, int to) {
        return n == 1 ? (from + to) / 2 : from + 30 + (to - from - 60) * i / (n - 1);
    }
}
