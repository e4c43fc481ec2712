package io.ebsreplicator.benchmarks.fleet;

import javax.imageio.ImageIO;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A line chart of a few numeric series, drawn with AWT into a PNG (headless). */
final class LineChart {

    private static final int W = 800;
    private static final int H = 480;
    private static final int LEFT = 70;
    private static final int RIGHT = 190;
    private static final int TOP = 40;
    private static final int BOTTOM = 60;
    private static final Color[] COLORS = {
        new Color(0, 114, 178), new Color(213, 94, 0), new Color(0, 158, 115)
    };

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<String> names = new ArrayList<>();
    private final List<List<double[]>> series = new ArrayList<>();

    LineChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Adds a series of {x, y} points, drawn in order. */
    LineChart series(String name, List<double[]> points) {
        names.add(name);
        series.add(List.copyOf(points));
        return this;
    }

    void write(Path png) throws Exception {
        System.setProperty("java.awt.headless", "true");
        double maxX = 1;
        double maxY = 1;
        for (List<double[]> s : series) {
            for (double[] p : s) {
                maxX = Math.max(maxX, p[0]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        maxX *= 1.05;
        maxY *= 1.05;
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, LEFT, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawLine(LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM);
        g.drawLine(LEFT, TOP, LEFT, H - BOTTOM);
        for (int i = 0; i <= 5; i++) {
            int y = (int) (H - BOTTOM - (H - TOP - BOTTOM) * i / 5.0);
            int x = (int) (LEFT + (W - LEFT - RIGHT) * i / 5.0);
            g.setColor(new Color(230, 230, 230));
            g.drawLine(LEFT + 1, y, W - RIGHT, y);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.0f", maxY * i / 5), 20, y + 4);
            g.drawString(String.format(Locale.ROOT, "%.0f", maxX * i / 5), x - 10, H - BOTTOM + 20);
        }
        g.drawString(yLabel, 20, TOP - 8);
        g.drawString(xLabel, LEFT + (W - LEFT - RIGHT) / 2 - 100, H - 15);
        for (int s = 0; s < series.size(); s++) {
            g.setColor(COLORS[s % COLORS.length]);
            g.setStroke(new BasicStroke(2.5f));
            int px = -1;
            int py = -1;
            for (double[] p : series.get(s)) {
                int x = (int) (LEFT + (W - LEFT - RIGHT) * p[0] / maxX);
                int y = (int) (H - BOTTOM - (H - TOP - BOTTOM) * p[1] / maxY);
                if (px >= 0) {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
            g.drawLine(W - RIGHT + 15, TOP + 20 + 22 * s, W - RIGHT + 40, TOP + 20 + 22 * s);
            g.drawString(names.get(s), W - RIGHT + 48, TOP + 24 + 22 * s);
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }
}
