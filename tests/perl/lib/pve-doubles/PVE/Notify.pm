package PVE::Notify;

# Test double of pve-cluster's PVE::Notify (src/PVE/Notify.pm): notify($severity, $template,
# $data, $fields) and its severity shortcuts, common_template_data(). The real one reads
# notifications.cfg and hands the notification to proxmox-notify (Proxmox::RS::Notify->send),
# which renders the template from /usr/share/pve-manager/templates/default/ for every matching
# target and only logs failures (a missing template included) - send() itself does not die
# for them. Here the notification is recorded in the simulated cluster's 'notifications' list,
# with 'rendered' false when the template files (templates/default/NAME-{subject,body}.txt.hbs
# of this repository, what the package installs) are missing or the data lacks a field they
# use, so tests can check that every notification sent would render.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $templates = abs_path(dirname(__FILE__) . '/../../../../..') . '/templates/default';

# The {{field}} and {{#each field}} names a template uses at its top level (helpers such as
# {{timestamp x}} and fields of 'this.' inside blocks are skipped).
my sub template_fields {
    my ($text) = @_;

    my %f;
    while ($text =~ m/\{\{[#\/]?(?:if|each|unless)?\s*([a-z][a-z0-9-]*)\s*~?\}\}/g) {
        $f{$1} = 1;
    }
    delete $f{$_} for qw(else if each unless this);
    return [sort keys %f];
}

my sub rendered {
    my ($template, $data) = @_;

    my @missing;
    for my $part (qw(subject body)) {
        my $file = "$templates/$template-$part.txt.hbs";
        if (!-f $file) {
            push @missing, "no template $template-$part.txt.hbs";
            next;
        }
        open(my $fh, '<', $file) or die "cannot read $file: $!\n";
        local $/;
        my $text = <$fh>;
        close($fh);
        for my $field (@{ template_fields($text) }) {
            push @missing, "$template-$part: no '$field' in the data" if !exists($data->{$field});
        }
    }
    return \@missing;
}

sub common_template_data {
    my $sim = PVEBalancerTest::SimCluster->current();
    my $node = $sim ? $sim->{nodename} : 'localhost';
    return { hostname => $node, fqdn => "$node.example.com", 'cluster-name' => 'testcluster' };
}

sub notify {
    my ($severity, $template, $data, $fields, $config) = @_;

    die "invalid severity '$severity'\n" if $severity !~ m/^(?:info|notice|warning|error)$/;
    my $problems = rendered($template, $data // {});
    my $sim = PVEBalancerTest::SimCluster->current();
    push @{ $sim->{notifications} }, {
        severity => $severity,
        template => $template,
        data => $data,
        fields => $fields,
        rendered => @$problems ? 0 : 1,
        problems => $problems,
    } if $sim;
    return;
}

sub info { notify('info', @_) }
sub notice { notify('notice', @_) }
sub warning { notify('warning', @_) }
sub error { notify('error', @_) }

1;
