#!/usr/bin/perl
# Mounting /cluster/balance: PVE::Balancer::APIRegister registers the handler below
# PVE::API2::Cluster, twice is harmless, a broken add-on never stops the API process; the
# wrappers PVE::Balancer::Inject writes for /usr/bin/{pvedaemon,pveproxy,pvesh} mount it and run
# pve-manager's diverted script in the same process (taint mode, $0 kept for the re-exec); the
# web UI template is pve-manager's plus one script tag, rewritten idempotently.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;

use File::Temp qw(tempdir);
use Test::More;

use PVE::API2;
use PVE::Balancer::Inject;

my $root = $PVEBalancerTest::Setup::root;
my $doubles = "$PVEBalancerTest::Setup::lib/pve-doubles";

sub balance_mounts {
    return scalar(grep { ($_->{path} // '') eq 'balance' }
        @{ PVE::API2::Cluster->method_attributes() });
}

# registration
is(balance_mounts(), 0, 'not mounted before the module is loaded');
ok(!PVE::API2->find_handler('GET', '/cluster/balance', {}), 'no handler yet');

require_ok('PVE::Balancer::APIRegister');
is($PVE::Balancer::APIRegister::registered, 1, 'registered');
is(balance_mounts(), 1, 'mounted once below PVE::API2::Cluster');
my ($class, $info) = PVE::API2->find_handler('POST', '/cluster/balance/evacuate', {});
is($class, 'PVE::API2::Balancer', '/cluster/balance/evacuate resolves to PVE::API2::Balancer');
is($info->{name}, 'evacuate', '... method evacuate');
($class, $info) = PVE::API2->find_handler('GET', '/cluster/resources', {});
is($info->{name}, 'resources', 'the cluster\'s own methods are untouched');

is(PVE::Balancer::APIRegister::register(), 1, 'register() again: fine');
{
    # loading the module anew (another BEGIN line, a reload) does not register twice
    local $PVE::Balancer::APIRegister::registered = 0;
    delete $INC{'PVE/Balancer/APIRegister.pm'};
    my $warnings = '';
    local $SIG{__WARN__} = sub { $warnings .= $_[0] };
    eval { require PVE::Balancer::APIRegister; };
    is($@, '', 'second load does not die');
    is($warnings =~ s/^Subroutine .* redefined.*\n//mgr, '', 'and does not complain');
    is(balance_mounts(), 1, 'still mounted once');
}

# pve-manager's pvedaemon as diverted to pvedaemon.distrib: the structure of pve-manager's
# bin/pvedaemon (taint mode, PATH reset, `use PVE::...` lines, then the work), here printing
# what the API offers and the $0 that PVE::Daemon would re-exec (pve-common
# src/PVE/Daemon.pm, new(): cmdline = [$0, @ARGV]; restart_daemon(): exec(@cmdline)).
my $original_daemon = <<'EOF';
#!/usr/bin/perl -T

$ENV{'PATH'} = '/sbin:/bin:/usr/sbin:/usr/bin';

delete @ENV{qw(IFS CDPATH ENV BASH_ENV)};

use strict;
use warnings;

use PVE::SafeSyslog;
use PVE::API2;

my ($h, $i) = PVE::API2->find_handler('GET', '/cluster/resources', {});
print "started, cluster api: " . ($i ? 'ok' : 'missing') . "\n";
($h, $i) = PVE::API2->find_handler('GET', '/cluster/balance', {});
print "balance: " . ($i ? $i->{name} : 'missing') . "\n";
print "syslog: $_->[1]" for @PVE::SafeSyslog::log;
print "\$0: $0\n";
print "args: @ARGV\n";
die "original failed\n" if grep { $_ eq 'fail' } @ARGV;
exit(3) if grep { $_ eq 'exit3' } @ARGV;
EOF

sub slurp {
    my ($file) = @_;
    open(my $fh, '<', $file) or die "$file: $!";
    local $/;
    return scalar(<$fh>);
}

sub spew {
    my ($file, $content, $mode) = @_;
    open(my $fh, '>', $file) or die "$file: $!";
    print $fh $content;
    close($fh);
    chmod($mode // 0755, $file);
}

# Runs the wrapper of pvedaemon around $original_daemon, as /usr/bin/pvedaemon would start;
# $hook_module makes that module fail to load.
sub daemon {
    my (%opts) = @_;

    my $dir = tempdir(CLEANUP => 1);
    spew("$dir/pvedaemon.distrib", $opts{original} // $original_daemon);
    unlink("$dir/pvedaemon.distrib") if $opts{no_original};
    spew("$dir/pvedaemon",
        PVE::Balancer::Inject::wrapper('pvedaemon', original => "$dir/pvedaemon.distrib"));
    my $hook = '';
    if (my $m = $opts{hook_module}) {
        # a module loaded before the wrapper makes $m fail to load
        spew("$dir/Hook.pm", "package Hook; BEGIN { unshift \@INC, sub { return if \$_[1] ne '$m';"
            . " my \$c = qq{die qq{broken $m\\\\n};}; open(my \$fh, '<', \\\$c); return \$fh; }; } 1;\n", 0644);
        $hook = "-I$dir -MHook";
    }
    my @inc = map { "-I$_" } ($doubles, $root, @{ $opts{inc} // [] });
    my $args = $opts{args} // 'start';
    my $out = `$^X -T @inc $hook $dir/pvedaemon $args 2>&1`;
    return ($out, $? >> 8, $dir);
}

{
    my ($out, $rc, $dir) = daemon(inc => ["$root/perl/build/lib", "$root/perl/build/arch"]);
    is($rc, 0, 'taint-mode pvedaemon through the wrapper starts') or diag($out);
    like($out, qr/^balance: status$/m, 'and serves /cluster/balance');
    like($out, qr/^started, cluster api: ok$/m, 'the cluster API is there');
    like($out, qr/^\$0: \Q$dir\E\/pvedaemon$/m,
        '$0 is the wrapper, so a restart re-execs through it');
    like($out, qr/^args: start$/m, 'arguments reach pve-manager\'s script');

    ($out, $rc) = daemon(hook_module => 'PVE/API2/Balancer.pm');
    is($rc, 0, 'a broken PVE::API2::Balancer does not stop the daemon');
    like($out, qr/^started, cluster api: ok$/m, 'the rest of the API works');
    like($out, qr/^balance: missing$/m, '/cluster/balance is just not there');
    like($out, qr/pve-balancer: \/cluster\/balance not available - broken PVE\/API2\/Balancer/,
        'the reason is logged');

    ($out, $rc) = daemon(hook_module => 'PVE/Balancer/APIRegister.pm');
    is($rc, 0, 'a broken APIRegister module does not stop the daemon either');
    like($out, qr/^started, cluster api: ok$/m, 'the API works');

    ($out, $rc) = daemon(hook_module => 'PVE/API2/Cluster.pm');
    isnt($rc, 0, 'a broken pve-manager module stops the daemon, as without pve-balancer');
    like($out, qr/^broken PVE\/API2\/Cluster\.pm$/m, 'with the real error from pve-manager\'s script');
    unlike($out, qr/Attempt to reload/, 'not an "Attempt to reload" left behind by the wrapper');

    ($out, $rc) = daemon(args => 'fail');
    is($rc, 255, 'a script that dies exits as it would without the wrapper');
    like($out, qr/^original failed$/m, 'with its message');
    ($out, $rc) = daemon(args => 'exit3');
    is($rc, 3, 'the exit code of pve-manager\'s script is kept');

    ($out, $rc) = daemon(no_original => 1);
    isnt($rc, 0, 'no original: fails');
    like($out, qr/pve-balancer: unable to run '.*pvedaemon\.distrib'/, 'and says why');

    ($out, $rc) = daemon(original => "#!/usr/bin/perl -T\nuse strict;\nmy \$x = ;\n");
    isnt($rc, 0, 'an original that does not compile: fails');
    like($out, qr/syntax error/, 'with perl\'s message');
}

# the three wrappers
for my $name (qw(pvedaemon pveproxy pvesh)) {
    my $text = PVE::Balancer::Inject::wrapper($name);
    my $taint = $name eq 'pvesh' ? '' : ' -T';
    like($text, qr/\A#!\/usr\/bin\/perl\Q$taint\E\n/, "$name: shebang as pve-manager's");
    like($text, qr/^\Q$PVE::Balancer::Inject::line\E$/m, "$name: mounts the API");
    like($text, qr/^my \$original = '\/usr\/bin\/$name\.distrib';$/m, "$name: runs the diverted script");
    my $dir = tempdir(CLEANUP => 1);
    spew("$dir/w", $text);
    my $out = `$^X$taint -c $dir/w 2>&1`;
    like($out, qr/syntax OK/, "$name: compiles");
}
eval { PVE::Balancer::Inject::wrapper('pvestatd') };
like($@, qr/unknown script 'pvestatd'/, 'only the three API scripts');
eval { PVE::Balancer::Inject::wrapper('pvesh', original => 'relative') };
like($@, qr/must be absolute/, 'the original path is absolute');

# status of the scripts
{
    my $dir = tempdir(CLEANUP => 1);
    my %p = (path => "$dir/pvedaemon", original => "$dir/pvedaemon.distrib");
    is(PVE::Balancer::Inject::script_status('pvedaemon', %p), 'absent', 'status: no file');
    spew("$dir/pvedaemon", $original_daemon);
    is(PVE::Balancer::Inject::script_status('pvedaemon', %p), 'absent', 'status: pve-manager\'s file');
    spew("$dir/pvedaemon", PVE::Balancer::Inject::wrapper('pvedaemon', original => $p{original}));
    is(PVE::Balancer::Inject::script_status('pvedaemon', %p), 'wrapped, original missing',
        'status: wrapper without the original');
    spew($p{original}, $original_daemon);
    is(PVE::Balancer::Inject::script_status('pvedaemon', %p), 'wrapped', 'status: wrapped');
    spew($p{original}, $original_daemon =~ s/^#!\/usr\/bin\/perl -T/#!\/usr\/bin\/perl/r);
    is(PVE::Balancer::Inject::script_status('pvedaemon', %p),
        'wrapped, taint mode differs from the original', 'status: taint mode mismatch');
}

# the web UI template
my $tpl = <<'EOF';
<!DOCTYPE html>
<html>
  <head>
    <title>[% nodename %] - Proxmox Virtual Environment</title>
    <script type="text/javascript" src="/proxmoxlib.js?ver=[% wtversion %]"></script>
    <script type="text/javascript" src="/pve2/js/pvemanagerlib.js?ver=[% version %]"></script>
    <script type="text/javascript" src="/pve2/ext6/locale/locale-[% lang %].js?ver=7.0.0"></script>
    <script type="text/javascript">
    Ext.onReady(() => Ext.create('PVE.StdWorkspace'));
    </script>
  </head>
  <body></body>
</html>
EOF
{
    my $dir = tempdir(CLEANUP => 1);
    my %p = (template => "$dir/index.html.tpl", js => "$dir/pve-balancer.js");
    spew($p{template}, $tpl, 0644);
    spew($p{js}, "Ext.define('PVE.balancer.Test', {});\n", 0644);

    is(PVE::Balancer::Inject::template_status(%p), 'not diverted', 'template: not diverted');
    is(PVE::Balancer::Inject::update_template(%p), 'not diverted',
        'not diverted: the file is pve-manager\'s, left alone');
    is(slurp($p{template}), $tpl, '... unchanged');

    rename($p{template}, "$p{template}.distrib"); # what dpkg-divert --rename does
    is(PVE::Balancer::Inject::template_status(%p), 'diverted, tag missing', 'diverted, no file yet');
    is(PVE::Balancer::Inject::update_template(%p), 'updated', 'update');
    my $tag = PVE::Balancer::Inject::script_tag($p{js});
    like($tag, qr{^<script type="text/javascript" src="/pve2/js/pve-balancer\.js\?ver=[0-9a-f]{12}"></script>$},
        'the tag names the file below /pve2/js with a content hash');
    my $want = $tpl =~ s{(    <script [^\n]*pvemanagerlib\.js[^\n]*\n)}{$1    $tag\n}r;
    is(slurp($p{template}), $want, 'pve-manager\'s template plus one line after pvemanagerlib.js');
    is(slurp("$p{template}.distrib"), $tpl, 'pve-manager\'s copy untouched');
    is((stat($p{template}))[2] & 07777, 0644, 'mode of pve-manager\'s file');
    is(PVE::Balancer::Inject::template_status(%p), 'diverted, tag present', 'status: tag present');
    is(PVE::Balancer::Inject::update_template(%p), 'unchanged', 'again: unchanged');

    # pve-manager upgrade: new template in the diverted place
    my $tpl2 = $tpl =~ s/<body><\/body>/<body class="new"><\/body>/r;
    spew("$p{template}.distrib", $tpl2, 0644);
    is(PVE::Balancer::Inject::update_template(%p), 'updated', 'after a pve-manager upgrade: updated');
    like(slurp($p{template}), qr/<body class="new">/, 'from the new template');
    is(scalar(() = slurp($p{template}) =~ m/pve-balancer\.js/g), 1, 'one tag');

    # a new UI version changes the tag
    spew($p{js}, "Ext.define('PVE.balancer.Test2', {});\n", 0644);
    is(PVE::Balancer::Inject::update_template(%p), 'updated', 'new UI file: updated');
    isnt(PVE::Balancer::Inject::script_tag($p{js}), $tag, 'with a new ver=');

    # no UI file: pve-manager's template as is
    unlink($p{js});
    is(PVE::Balancer::Inject::update_template(%p), 'updated', 'UI file gone');
    is(slurp($p{template}), $tpl2, 'the template is pve-manager\'s again');

    # a pve-manager template without the anchor: error, and pve-manager's page as it is (a
    # stale template would serve an old UI)
    spew($p{js}, "x\n", 0644);
    PVE::Balancer::Inject::update_template(%p);
    spew("$p{template}.distrib", "<html>[% nodename %]</html>\n", 0644);
    eval { PVE::Balancer::Inject::update_template(%p) };
    like($@, qr/^no pvemanagerlib\.js script tag .* - wrote pve-manager's template without the pve-balancer UI$/,
        'no anchor: error');
    is(slurp($p{template}), "<html>[% nodename %]</html>\n", 'the template is pve-manager\'s');
    is(PVE::Balancer::Inject::template_status(%p), 'diverted, tag missing', 'status: tag missing');
    opendir(my $dh, $dir);
    ok(!grep({ m/\.pve-balancer\./ } readdir($dh)), 'no temporary file left');
}

# the command
{
    my $cmd = "$^X -I$root $root/bin/pve-balancer-inject";
    local $ENV{PERL5LIB};
    is(`$cmd wrapper pvesh`, PVE::Balancer::Inject::wrapper('pvesh'),
        'pve-balancer-inject wrapper pvesh');
    `$cmd wrapper pvestatd 2>/dev/null`;
    is($? >> 8, 2, 'unknown script: exit 2');
    `$cmd frobnicate 2>/dev/null`;
    is($? >> 8, 2, 'unknown command: exit 2');
    like(`$cmd status`, qr{^/usr/bin/pvedaemon: (?:absent|wrapped)\n}, 'status lists the scripts');
}

done_testing();
