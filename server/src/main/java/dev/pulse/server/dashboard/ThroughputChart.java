package dev.pulse.server.dashboard;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * The overview's chart as inline SVG, drawn on the server: one stacked bar per minute of the last
 * hour, succeeded attempts green below failed ones red, with the largest minute marked. Only
 * numbers and fixed text go into it.
 */
final class ThroughputChart {

    private static final int WIDTH = 720;
    private static final int HEIGHT = 170;

    /** The narrowest left margin: room for the axis labels of up to four digits. */
    private static final int MIN_LEFT = 44;

    /**
     * The axis labels' glyph widths at their 10px font (.chart .axis), a little wider than DejaVu
     * Sans' (digits 0.64em, comma 0.32em) so that a wider system font still fits.
     */
    private static final double DIGIT_WIDTH = 6.8;

    private static final double SEPARATOR_WIDTH = 3.6;
    private static final int LABEL_GAP = 6;
    private static final int BOTTOM = 20;
    private static final int TOP = 8;
    private static final DateTimeFormatter HOUR_MINUTE =
            DateTimeFormatter.ofPattern("HH:mm", Locale.ROOT).withZone(ZoneOffset.UTC);

    private ThroughputChart() {}

    static String svg(List<OverviewQueries.Minute> minutes) {
        long max = minutes.stream().mapToLong(m -> m.succeeded() + m.failed()).max().orElse(0);
        long scale = niceCeiling(Math.max(max, 1));
        // The margin grows with the widest label (the top one), so that seven digits and more
        // are not clipped at the chart's left edge.
        int left = leftMargin(Formats.number(scale));
        int plotWidth = WIDTH - left - 4;
        int plotHeight = HEIGHT - TOP - BOTTOM;
        double slot = (double) plotWidth / Math.max(1, minutes.size());
        StringBuilder svg = new StringBuilder();
        svg.append(
                String.format(
                        Locale.ROOT,
                        "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Finished attempts per minute, last hour\" "
                                + "xmlns=\"http://www.w3.org/2000/svg\">",
                        WIDTH,
                        HEIGHT));
        for (int i = 0; i <= 2; i++) {
            double y = TOP + plotHeight - plotHeight * i / 2.0;
            svg.append(
                    String.format(
                            Locale.ROOT,
                            "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>",
                            left,
                            WIDTH - 4,
                            y,
                            y));
            svg.append(
                    String.format(
                            Locale.ROOT,
                            "<text x=\"%d\" y=\"%.1f\" class=\"axis\" text-anchor=\"end\">%s</text>",
                            left - LABEL_GAP,
                            y + 4,
                            Formats.number(scale * i / 2)));
        }
        for (int i = 0; i < minutes.size(); i++) {
            OverviewQueries.Minute m = minutes.get(i);
            double x = left + i * slot + 1;
            double w = Math.max(1, slot - 2);
            double hOk = plotHeight * (double) m.succeeded() / scale;
            double hFail = plotHeight * (double) m.failed() / scale;
            double base = TOP + plotHeight;
            svg.append("<g><title>")
                    .append(HOUR_MINUTE.format(m.start()))
                    .append(" UTC: ")
                    .append(Formats.number(m.succeeded()))
                    .append(" succeeded, ")
                    .append(Formats.number(m.failed()))
                    .append(" failed</title>");
            if (m.succeeded() > 0) {
                svg.append(
                        String.format(
                                Locale.ROOT,
                                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"ok\"/>",
                                x,
                                base - hOk,
                                w,
                                hOk));
            }
            if (m.failed() > 0) {
                svg.append(
                        String.format(
                                Locale.ROOT,
                                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"fail\"/>",
                                x,
                                base - hOk - hFail,
                                w,
                                hFail));
            }
            svg.append("</g>");
            boolean last = i == minutes.size() - 1;
            if (i % 15 == 0 || last) {
                svg.append(
                        String.format(
                                Locale.ROOT,
                                "<text x=\"%.1f\" y=\"%d\" class=\"axis\" text-anchor=\"%s\">%s</text>",
                                last ? x + w : x + w / 2,
                                HEIGHT - 4,
                                last ? "end" : "middle",
                                last ? "now" : HOUR_MINUTE.format(m.start())));
            }
        }
        return svg.append("</svg>").toString();
    }

    /** The left margin that holds {@code label} right-aligned before the plot, at least 44. */
    static int leftMargin(String label) {
        double width = 0;
        for (char c : label.toCharArray()) {
            width += Character.isDigit(c) ? DIGIT_WIDTH : SEPARATOR_WIDTH;
        }
        return Math.max(MIN_LEFT, (int) Math.ceil(width) + LABEL_GAP + 2);
    }

    /** 1, 2, 5, 10, 20, 50, … at or above {@code n}. */
    static long niceCeiling(long n) {
        long step = 1;
        while (true) {
            for (long f : new long[] {1, 2, 5}) {
                if (f * step >= n) {
                    return f * step;
                }
            }
            step *= 10;
        }
    }
}
